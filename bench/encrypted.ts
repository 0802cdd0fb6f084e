// What encryption costs (issue 9): one device sends the same size of file to a read-write device
// and to an encrypted one, in turns (read-write, encrypted, read-write, encrypted, ...) in the same
// run, so the machine's load falls on both alike. The sender encrypts every chunk it sends to the
// encrypted device (and its sealed entry); the receiver only checks blob hashes.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil, type Device } from '../e2e/harness.ts';
import { connected } from './sync.ts';
import { benchCluster, benchDeviceEnv, fmt, mb, median, MiB, now, writeRandomFile } from './lib.ts';

export interface EncryptedFigures {
  bytes: number;
  rounds: number;
  /** write -> the receiver has it and is idle, MB/s of plaintext, per round */
  readWriteMBps: number[];
  encryptedMBps: number[];
  medianReadWriteMBps: number;
  medianEncryptedMBps: number;
}

export interface EncryptedOptions {
  fromSource: boolean;
  bytes: number;
  rounds: number;
  log: (s: string) => void;
}

export async function benchEncrypted(opts: EncryptedOptions): Promise<EncryptedFigures> {
  const c = benchCluster('peerfold-bench-encrypted-');
  try {
    const env = benchDeviceEnv(opts.fromSource);
    const a = await c.add('sender', env);
    const rw = await c.add('readwrite', env);
    const enc = await c.add('encrypted', env);
    const plainDir = join(c.base, 'sender-plain');
    const sealedDir = join(c.base, 'sender-sealed');
    mkdirSync(plainDir);
    mkdirSync(sealedDir);
    const plain = await a.call('share', { path: plainDir, name: 'plain' });
    const sealed = await a.call('share', { path: sealedDir, name: 'sealed' });
    await rw.call('join', { code: plain.codes.readWrite!, path: rw.dir });
    await enc.call('join', { code: sealed.codes.encrypted!, path: enc.dir });
    await connected([a, rw], plain.share.id);
    await connected([a, enc], sealed.share.id);
    opts.log('encrypted: a sender, a read-write and an encrypted device connected');

    const round = async (to: Device, shareId: string, src: string, name: string): Promise<number> => {
      const staging = join(c.base, `staging-${name}`);
      writeRandomFile(staging, opts.bytes);
      const before = (await to.share(shareId)).localFiles;
      const t0 = now();
      renameSync(staging, join(src, name));
      await waitUntil(
        `${name} to reach ${to.name}`,
        async () => {
          const s = await to.share(shareId);
          return s.state === 'idle' && !s.needFiles && !s.pulling.length && s.localFiles === before + 1;
        },
        1_800_000,
        50,
      );
      const MBps = mb(opts.bytes) / ((now() - t0) / 1000);
      opts.log(`encrypted: ${name} to ${to.name}: ${fmt(MBps)} MB/s`);
      return MBps;
    };
    const readWriteMBps: number[] = [];
    const encryptedMBps: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      readWriteMBps.push(await round(rw, plain.share.id, plainDir, `plain-${i}.bin`));
      encryptedMBps.push(await round(enc, sealed.share.id, sealedDir, `sealed-${i}.bin`));
    }
    return {
      bytes: opts.bytes,
      rounds: opts.rounds,
      readWriteMBps,
      encryptedMBps,
      medianReadWriteMBps: median(readWriteMBps),
      medianEncryptedMBps: median(encryptedMBps),
    };
  } catch (err) {
    if (process.env.PEERFOLD_BENCH_LOGS) console.error(c.logs());
    throw err;
  } finally {
    await c.dispose();
  }
}

export function printEncrypted(r: EncryptedFigures): void {
  console.log(`encrypted: ${fmt(r.bytes / MiB, 0)} MiB files, ${r.rounds} rounds each, taking turns`);
  console.log(`  to a read-write device   ${r.readWriteMBps.map((x) => fmt(x)).join(', ')} MB/s (median ${fmt(r.medianReadWriteMBps)})`);
  console.log(`  to an encrypted device   ${r.encryptedMBps.map((x) => fmt(x)).join(', ')} MB/s (median ${fmt(r.medianEncryptedMBps)})`);
}
