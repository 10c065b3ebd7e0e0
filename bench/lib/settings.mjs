/** settings: the benches' environment settings, read and checked one way. */

/** A whole number >= 1 from the environment variable `name`, else `fallback`; a wrong value throws. */
export function int(name, fallback) {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`${name} must be a whole number >= 1 (got ${process.env[name]})`);
  }
  return v;
}
