// The worker-thread side of LoRA inspection: parses one large safetensors header off the main thread,
// so an 84 MB header does not stop the server answering while it is read (see lora-inspect-thread-client.ts).

import { parentPort } from 'node:worker_threads';
import { inspectHeaderBytes } from './lora-inspect.js';

interface Request {
  readonly file: string;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly size: number;
}

parentPort?.once('message', (m: Request) => {
  try {
    parentPort!.postMessage({ report: inspectHeaderBytes(m.file, m.name, m.bytes, m.size) });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
