/** header: the lines a bench prints first: what it is, how to run it again, and on what machine. */
import os from 'node:os';

/** `Gust NAME bench, <date>`, the command, the CPUs, node and the load average (a shared machine's noise). */
export function printHeader(name, command) {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`Gust ${name} bench, ${new Date().toISOString()}`);
  console.log(`command:   ${command}`);
  console.log(
    `machine:   ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load ${load}`,
  );
}
