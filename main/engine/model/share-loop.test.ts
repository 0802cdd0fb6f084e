// The share's queue with fake jobs: one job at a time, a peer's index first, a long pull gives
// way to a scan between files, scan requests merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PULL_TURN_MS, ShareLoop, type ScanRequest, type ShareJob } from './share-loop.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const log: string[] = [];
  let running = 0;
  let overlapped = false;
  const enter = (what: string) => {
    running++;
    if (running > 1) overlapped = true;
    log.push(what);
  };
  const leave = () => running--;
  return { log, enter, leave, overlapped: () => overlapped };
}

test("jobs never overlap; a peer's index entries run before a waiting scan, and a scan before pulling", async () => {
  const r = recorder();
  const jobs: ShareJob[] = [];
  const loop = new ShareLoop({
    scan: async (req: ScanRequest) => {
      r.enter(req.all ? 'scan:all' : `scan:${[...req.paths].sort().join(',')}`);
      await tick(20);
      r.leave();
    },
    pull: async () => {
      r.enter('pull');
      await tick(20);
      r.leave();
      return 'done';
    },
    jobChanged: (j) => j && jobs.push(j),
    log: () => undefined,
  });
  const first = loop.requestScan(['a']);
  // while the first scan runs, everything else arrives
  await tick(5);
  loop.requestPull();
  const second = loop.requestScan(['b']);
  const third = loop.requestScan(['c']);
  const applied: string[] = [];
  const remote = loop.enqueueRemoteIndex(() => applied.push('entries'));
  await Promise.all([first, second, third, remote]);
  await loop.idle();
  assert.deepEqual(applied, ['entries']);
  assert.equal(r.overlapped(), false);
  // the two waiting scan requests were merged into one
  assert.deepEqual(r.log, ['scan:a', 'scan:b,c', 'pull']);
  assert.deepEqual(jobs, ['scan', 'remote-index', 'scan', 'pull']);
  await loop.stop();
});

test('a long pull gives way to a scan between files and goes on afterwards', async () => {
  const events: string[] = [];
  let filesLeft = 200;
  const loop = new ShareLoop({
    scan: async () => {
      events.push(`scan with ${filesLeft} files left`);
    },
    pull: async (mustYield) => {
      while (filesLeft > 0) {
        if (mustYield()) return 'more';
        await tick(10);
        filesLeft--;
      }
      events.push('pull done');
      return 'done';
    },
    jobChanged: () => undefined,
    log: () => undefined,
  });
  loop.requestPull();
  await tick(50);
  await loop.requestScan(['x']);
  // the scan ran while files were still left, not only after the whole pull
  assert.match(events[0]!, /^scan with \d+ files left$/);
  assert.ok(Number(/(\d+)/.exec(events[0]!)![1]) > 0, events[0]);
  await loop.idle();
  assert.equal(filesLeft, 0);
  assert.equal(events.at(-1), 'pull done');
  await loop.stop();
});

test('a pull with nothing else waiting is not interrupted', async () => {
  let yields = 0;
  const loop = new ShareLoop({
    scan: async () => undefined,
    pull: async (mustYield) => {
      const end = Date.now() + PULL_TURN_MS * 2;
      while (Date.now() < end) {
        if (mustYield()) yields++;
        await tick(5);
      }
      return 'done';
    },
    jobChanged: () => undefined,
    log: () => undefined,
  });
  loop.requestPull();
  await tick(10);
  await loop.idle();
  assert.equal(yields, 0);
  await loop.stop();
});

test('after stop, index entries are still written (the peer is acknowledged) and scans resolve', async () => {
  const loop = new ShareLoop({ scan: async () => undefined, pull: async () => 'done', jobChanged: () => undefined, log: () => undefined });
  await loop.stop();
  let written = false;
  await loop.enqueueRemoteIndex(() => (written = true));
  assert.equal(written, true);
  await loop.requestScan();
});

test("a peer's index entries are written at the next file boundary of a pull turn, without ending the turn", async () => {
  const events: string[] = [];
  let files = 30;
  const loop = new ShareLoop({
    scan: async () => undefined,
    pull: async (mustYield) => {
      while (files > 0) {
        if (mustYield()) return 'more';
        await tick(10);
        files--;
        events.push('file');
      }
      events.push('turn ends');
      return 'done';
    },
    jobChanged: () => undefined,
    log: () => undefined,
  });
  loop.requestPull();
  await tick(60);
  await loop.enqueueRemoteIndex(() => events.push('entries'));
  const at = events.indexOf('entries');
  assert.ok(at > 0 && events.indexOf('turn ends') === -1, `written while the turn went on: ${events.join(' ')}`);
  await loop.idle();
  assert.equal(events.filter((e) => e === 'turn ends').length, 1, 'one turn: the entries did not make it give way');
  await loop.stop();
});

test("a pull asked for while a peer's index arrives starts before the index has all been written", async () => {
  // The link hands over a big index as a queue of batches, each verified (synchronous work) right
  // after the last was written, without leaving the microtask queue; the pull is asked for with a
  // delay, as Folder.syncSoon does after the first batch.
  const BATCHES = 40;
  let written = 0;
  let pulledAfter: number | null = null;
  let writtenDuringPull = 0;
  const loop = new ShareLoop({
    scan: async () => undefined,
    pull: async (mustYield) => {
      pulledAfter ??= written;
      for (let file = 0; file < 10; file++) {
        const before = written;
        mustYield();
        writtenDuringPull += written - before;
        await tick(2);
      }
      return 'done';
    },
    jobChanged: () => undefined,
    log: () => undefined,
  });
  const verify = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      /* checking the batch's signatures */
    }
  };
  for (let i = 0; i < BATCHES; i++) {
    verify(5);
    await loop.enqueueRemoteIndex(() => {
      written++;
      loop.requestPull(20);
    });
  }
  while (pulledAfter === null) await tick(5);
  await loop.idle();
  assert.equal(written, BATCHES);
  assert.ok(pulledAfter < BATCHES, `the pull started after ${pulledAfter} of ${BATCHES} batches`);
  assert.ok(writtenDuringPull > 0, 'batches went on being written between the files of the pull turn');
  await loop.stop();
});
