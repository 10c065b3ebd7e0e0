/** bytes: a body in JSON, as its text when it is UTF-8, else as base64 marked so. */

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function textOrBase64(bytes: Uint8Array): { body: string; base64?: true } {
  try {
    return { body: UTF8.decode(bytes) };
  } catch {
    return { body: Buffer.from(bytes).toString('base64'), base64: true };
  }
}

/** `512 bytes`, `256 KB`, `3.2 MB` (powers of 1024, as the size settings read). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const [value, unit] = n < 1024 ** 2 ? [n / 1024, 'KB'] : [n / 1024 ** 2, 'MB'];
  return `${Math.round(value * 10) / 10} ${unit}`;
}
