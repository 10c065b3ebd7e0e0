/**
 * A gate on 127.0.0.1 that a function can wait on (`await fetch(GATE)`), so that a test decides
 * when a call goes on, instead of guessing with times. `arrived` counts the calls waiting at it.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  readonly url: string;
  /** Calls that reached the gate so far. */
  arrived(): number;
  /** Lets every waiting call (and every later one) through. */
  open(): void;
  close(): Promise<void>;
}

export async function gate(): Promise<Gate> {
  const waiting: ServerResponse[] = [];
  let opened = false;
  let arrived = 0;
  const server = createServer((_req, res) => {
    arrived++;
    if (opened) res.end('go');
    else waiting.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    arrived: () => arrived,
    open() {
      opened = true;
      for (const res of waiting.splice(0)) res.end('go');
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
