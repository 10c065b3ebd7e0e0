/**
 * A debugger for tests: attaches to a Node inspector by its WebSocket URL and speaks the Chrome
 * DevTools Protocol as chrome://inspect would, from a child `node --experimental-websocket` (Node 20
 * has no WebSocket without it). It lets the program run (Runtime.runIfWaitingForDebugger); at the
 * first pause it evaluates `expression` in the paused frame and holds the program there until the
 * test resumes it. It tells what the protocol said of the function's bundle (`fn.mjs`) as it was
 * parsed: its URL and source map URL, as a debugger reads them to show the author's files.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SCRIPT = `
const [url, expression] = process.argv.slice(1);
const ws = new WebSocket(url);
let id = 0;
const send = (method, params = {}) => ws.send(JSON.stringify({ id: ++id, method, params }));
const said = (value) => console.log(JSON.stringify(value));
let paused, evaluating, resuming, bundle;
ws.onopen = () => { send('Runtime.enable'); send('Debugger.enable'); send('Runtime.runIfWaitingForDebugger'); };
ws.onerror = (e) => { console.error(String(e.message ?? e)); process.exit(2); };
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.method === 'Debugger.scriptParsed' && msg.params.url.endsWith('/fn.mjs')) {
    bundle = { url: msg.params.url, sourceMapURL: msg.params.sourceMapURL };
  }
  if (msg.method === 'Debugger.paused' && paused === undefined) {
    paused = msg.params.callFrames[0];
    send('Debugger.evaluateOnCallFrame', { callFrameId: paused.callFrameId, expression, returnByValue: true });
    evaluating = id;
  } else if (msg.id !== undefined && msg.id === evaluating) {
    said({ pausedIn: paused.functionName, line: paused.location.lineNumber, column: paused.location.columnNumber, value: msg.result?.result?.value, bundle });
  } else if (msg.id !== undefined && msg.id === resuming) {
    said({ resumed: true });
    ws.close();
    process.exit(0);
  }
};
process.stdin.once('data', () => { send('Debugger.resume'); resuming = id; });
`;

export interface Paused {
  /** The function the program paused in. */
  readonly pausedIn: string;
  /** Where in the bundle it paused (from 0, as the protocol counts). */
  readonly line: number;
  readonly column: number;
  /** What `expression` gave there. */
  readonly value: unknown;
  /** The bundle as the protocol told of it (Debugger.scriptParsed); undefined when it did not. */
  readonly bundle: { readonly url: string; readonly sourceMapURL: string } | undefined;
  /** Lets the program go on, and detaches. */
  resume(): Promise<void>;
}

export function attach(url: string, expression: string): Promise<Paused> {
  const child = spawn(
    process.execPath,
    ['--experimental-websocket', '--no-warnings', '-e', SCRIPT, url, expression],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: 60_000,
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the debugger ended (${child.exitCode ?? child.signalCode})`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  return next().then(({ pausedIn, line, column, value, bundle }) => ({
    pausedIn: String(pausedIn),
    line: Number(line),
    column: Number(column),
    value,
    bundle: bundle as Paused['bundle'],
    resume: async () => {
      child.stdin.end('resume\n');
      await next();
    },
  }));
}
