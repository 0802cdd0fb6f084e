// The answers to one requestBatch, gathered into one responseBatch (PROTOCOL.md, "Block transfer"):
// each request of the batch is served as if it had come alone, with its own status (a file that
// changed or is gone fails alone, never the batch), and the one message goes out when the last
// of them is settled.

import { SendQueueFullError } from '../net/channel-sender.ts';
import { recycleFrame } from '../net/frame-pool.ts';
import type { BlockResponse, ResponseBatch, ResponseStatus } from '../protocol/messages.ts';

const EMPTY = new Uint8Array(0);

type Answer = ResponseBatch['answers'][number];

export class BatchAnswers {
  private readonly answers: (Answer | undefined)[];
  private left: number;

  /**
   * `count` answers for ids `id`, `id + 1`, ...; `send` gets the responseBatch once all are in.
   * A batch of no requests is answered at once (empty).
   */
  constructor(
    private readonly id: number,
    count: number,
    private readonly send: (msg: ResponseBatch) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {
    this.answers = new Array<Answer | undefined>(count);
    this.left = count;
    if (count === 0) this.flush();
  }

  /** Where the answer to the batch's `i`th request goes: a send for the block server's single-request path. */
  sendFor(i: number): (msg: BlockResponse) => Promise<void> {
    return (msg) => {
      this.settle(i, msg.status, msg.data);
      return Promise.resolve();
    };
  }

  /** The `i`th request's answer; a second one for the same request is ignored. */
  settle(i: number, status: ResponseStatus, data: Uint8Array = EMPTY): void {
    if (i < 0 || i >= this.answers.length || this.answers[i]) return;
    this.answers[i] = { status, data: status === 'ok' ? data : EMPTY };
    if (--this.left === 0) this.flush();
  }

  private flush(): void {
    const answers = this.answers as Answer[];
    const msg: ResponseBatch = { type: 'responseBatch', id: this.id, answers };
    let sent: Promise<void>;
    try {
      // the message is encoded (every answer copied into it) before send returns
      sent = this.send(msg);
    } catch (err) {
      sent = Promise.reject(err as Error);
    }
    // the chunks were read into pooled memory (block-server.ts): now copied, it may be used again
    for (const a of answers) if (a.data.length) recycleFrame(a.data);
    sent.catch((err: unknown) => {
      // more than the link's send queue holds: the requester asks again with a smaller window
      if (err instanceof SendQueueFullError) {
        const overloaded = answers.map(() => ({ status: 'overloaded' as const, data: EMPTY }));
        return this.send({ type: 'responseBatch', id: this.id, answers: overloaded }).catch(() => undefined);
      }
      this.log(`answering a batch of ${answers.length} requests failed: ${(err as Error).message}`);
    });
  }
}
