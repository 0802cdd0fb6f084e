// kill -9 at random moments (including while snapshots are being written) must never lose a
// transaction the writer reported as committed, nor leave one half-applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableDb } from './durable-db.ts';
import { CRASH_MIGRATIONS } from './crash-writer.fixture.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = join(here, 'crash-writer.fixture.ts');

interface RunResult {
  committed: number[];
  lines: string[];
  stderr: string;
}

/** Runs the writer until it has reported `target` commits (and, in snapshot mode, started a snapshot), then SIGKILLs it. */
function runAndKill(dir: string, mode: 'steady' | 'snapshots', target: number, delayMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: number[] = [];
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    let killing = false;
    const killSoon = () => {
      if (killing) return;
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not reach ${target} commits; stdout tail: ${lines.slice(-5).join(' | ')}; stderr: ${stderr}`));
    }, 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data: string) => {
      buf += data;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (/^\d+$/.test(line)) committed.push(Number(line));
        const reached = committed.length >= target;
        if (reached && (mode === 'steady' || line === 'S')) killSoon();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}); stderr: ${stderr}`));
      else resolve({ committed, lines, stderr });
    });
  });
}

async function verify(dir: string, reported: Set<number>, label: string): Promise<number> {
  const { db, recovered } = await DurableDb.open(dir, { migrations: CRASH_MIGRATIONS, snapshotEveryMs: 0 });
  try {
    assert.equal(recovered, null, `${label}: no corruption`);
    assert.deepEqual(db.all('PRAGMA integrity_check'), [{ integrity_check: 'ok' }], `${label}: integrity`);
    const pairs = db.rows('SELECT pair, count(*), min(payload) = max(payload) FROM pairs GROUP BY pair ORDER BY pair');
    pairs.forEach(([pair, n, same], i) => {
      assert.equal(pair, i, `${label}: pairs are contiguous from 0 (missing ${i})`);
      assert.equal(n, 2, `${label}: pair ${pair} is complete`);
      assert.equal(same, 1, `${label}: pair ${pair} rows carry the same payload`);
    });
    const counter = db.get<{ n: number }>('SELECT n FROM counter')!.n;
    assert.equal(counter, pairs.length, `${label}: counter matches the pairs`);
    for (const id of reported) assert.ok(id < pairs.length, `${label}: reported commit ${id} survived (have ${pairs.length})`);
    return pairs.length;
  } finally {
    await db.close();
  }
}

/** What the crash interrupted, from the files it left: for the test log. */
function crashState(dir: string): string {
  const names = readdirSync(dir);
  const journals = names.filter((n) => n.startsWith('index.journal.')).length;
  if (names.includes('index.snapshot.tmp')) return 'mid-snapshot (temp file written or being written)';
  if (journals > 1) return `mid-snapshot (${journals} journals)`;
  return 'between snapshots';
}

async function crashRounds(mode: 'steady' | 'snapshots', rounds: number, log: (msg: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `peerfold-crash-${mode}-`));
  try {
    const reported = new Set<number>();
    for (let round = 0; round < rounds; round++) {
      const target = 1 + Math.floor(Math.random() * 150);
      const delay = Math.floor(Math.random() * (mode === 'snapshots' ? 5 : 15));
      const run = await runAndKill(dir, mode, target, delay);
      assert.ok(
        !run.lines.some((l) => l.startsWith('RECOVERED') || l.startsWith('ERROR')),
        run.lines.filter((l) => !/^\d+$/.test(l)).join(' | '),
      );
      for (const id of run.committed) reported.add(id);
      // check a copy (as the next start would see it), and let the next writer recover the original itself
      const image = mkdtempSync(join(tmpdir(), 'peerfold-crash-image-'));
      try {
        cpSync(dir, image, { recursive: true });
        log(`${mode} round ${round}: killed after ${run.committed.length} commits + ${delay} ms, ${crashState(image)}`);
        await verify(image, reported, `${mode} round ${round} (target ${target}, delay ${delay} ms)`);
      } finally {
        rmSync(image, { recursive: true, force: true });
      }
    }
    await verify(dir, reported, `${mode} final`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kill -9 during steady commits loses nothing reported and applies nothing by half', async (t) => {
  await crashRounds('steady', 3, (m) => t.diagnostic(m));
});

test('kill -9 while snapshots are being written loses nothing reported', async (t) => {
  await crashRounds('snapshots', 4, (m) => t.diagnostic(m));
});
