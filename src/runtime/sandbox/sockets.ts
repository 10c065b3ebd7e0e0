/**
 * sockets: no unix-domain socket, in either direction. Node's permission model guards the file
 * system but not sockets, and a unix socket is a file: listening on a path makes one wherever the
 * instance's user may write (as Gust's uid when Gust is not root: its data folder), and connecting
 * to one reaches a local service as that user (a database's peer authentication, `egress: none`
 * or not). So `net`'s two entry points refuse a path (and a handle or fd) before any system call,
 * as the permission model refuses a file: `ERR_ACCESS_DENIED`. Everything that makes a socket
 * (`net.connect`, `http.request({socketPath})`, `fetch` through a unix dispatcher, `server.listen`)
 * goes through these prototypes. Installed before any function code runs, so no function holds
 * the originals; the internal bindings they call are out of reach (`process.binding` is denied).
 */
import net from 'node:net';

function denied(what: string): Error {
  const e = new Error(
    `${what}: unix sockets are not allowed in a Gust function (they are files outside its folder); use TCP`,
  ) as Error & { code: string };
  e.code = 'ERR_ACCESS_DENIED';
  return e;
}

/** A port number given as a string ('8080') is a port; any other string is a path. */
const isPath = (value: unknown): boolean => typeof value === 'string' && !/^\d+$/.test(value);

type Options = { path?: unknown; fd?: unknown; handle?: unknown; _handle?: unknown } | null | undefined;

function local(options: Options): boolean {
  return (
    typeof options === 'object' &&
    options !== null &&
    (options.path !== undefined || options.fd !== undefined || options.handle !== undefined)
  );
}

export function refuseUnixSockets(): void {
  const connect = net.Socket.prototype.connect;
  Object.defineProperty(net.Socket.prototype, 'connect', {
    value: function guardedConnect(this: net.Socket, ...args: unknown[]) {
      // net.connect passes its arguments normalized, as an array of [options, callback]
      const first = Array.isArray(args[0]) ? (args[0][0] as unknown) : args[0];
      if (isPath(first) || local(first as Options)) throw denied('connect');
      return Reflect.apply(connect, this, args);
    },
    writable: false,
    configurable: false,
  });
  const listen = net.Server.prototype.listen;
  Object.defineProperty(net.Server.prototype, 'listen', {
    value: function guardedListen(this: net.Server, ...args: unknown[]) {
      const first = args[0];
      const handle = typeof first === 'object' && first !== null && !('port' in first) && !('host' in first);
      if (isPath(first) || local(first as Options) || handle) throw denied('listen');
      return Reflect.apply(listen, this, args);
    },
    writable: false,
    configurable: false,
  });
}
