/**
 * observe/input-worker: the thread that owns `<data>/inputs.db` (embedded/inputs.ts): it makes the
 * JSON of the requests handed over (input-batch.ts), writes each batch in one transaction, prunes
 * the file for time and size (retention.ts InputPruner, on its own schedule) and answers the
 * platform's questions, each after the batches posted before it. A batch that cannot be written is
 * said to the platform (kept-inputs.ts logs it) and left: its invocations cannot be replayed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteInputs } from '../backends/embedded/inputs.js';
import { unpackInputs } from './input-batch.js';
import type { FromInputWorker, InputQuestion, InputWorkerData, ToInputWorker } from './kept-inputs.js';
import { InputPruner } from './retention.js';

const port = parentPort!;
const settings = workerData as InputWorkerData;
const tell = (m: FromInputWorker) => port.postMessage(m);
const failed = (e: unknown) => tell({ t: 'failed', message: e instanceof Error ? e.message : String(e) });

const store = SqliteInputs.open(settings.file);
const pruner = new InputPruner(store, settings, {
  onError: failed,
  pruned: (counts) => tell({ t: 'pruned', ...counts }),
});

function answer(question: InputQuestion): Promise<unknown> {
  if (question.what === 'get') return store.get(question.id);
  if (question.what === 'size') return store.size();
  return pruner.prune();
}

port.on('message', (m: ToInputWorker) => {
  if (m.t === 'keep') {
    try {
      store.insert(unpackInputs(m.batch, settings.maxEventBytes));
    } catch (e) {
      failed(e);
    }
    tell({ t: 'kept', count: m.batch.count, bytes: m.batch.bytes });
  } else if (m.t === 'ask') {
    answer(m.question).then(
      (value) => tell({ t: 'answer', ask: m.ask, value }),
      (e: unknown) => tell({ t: 'answer', ask: m.ask, error: e instanceof Error ? e.message : String(e) }),
    );
  } else {
    pruner.close();
    void pruner
      .idle()
      .then(() => store.close())
      .catch(failed)
      .finally(() => tell({ t: 'closed' }));
  }
});
