// Runs every test file with node's test runner (TypeScript through tsx) and ends with the
// one-line summary CI reads: "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['main', 'shared', 'renderer/src', 'preload', 'e2e', 'scripts'];
const skipDirs = new Set(['node_modules', 'dist', '.git']);

function findTests(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (skipDirs.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (/\.test\.tsx?$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

// plain arguments pick test files by substring; --flags go to node's test runner
const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
let files = roots.flatMap((r) => findTests(join(root, r), [])).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(2);
}

// one results file per run: several runs may share the tree
const tapFile = `.tmp/test-results-${process.pid}.tap`;
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
  `--test-concurrency=${process.env.PEERFOLD_TEST_CONCURRENCY ?? 2}`,
  ...passThrough,
  ...files,
];
const { mkdirSync, readFileSync, rmSync } = await import('node:fs');
// The packaging and UI tests use dist/: a full run builds it first, so they test this tree.
if (!filter.length) {
  const { spawnSync } = await import('node:child_process');
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) {
    console.error('build failed');
    console.log('\n0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}
mkdirSync(join(root, '.tmp'), { recursive: true });
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PEERFOLD_TEST: '1', PEERFOLD_NO_PUBLIC: '1' },
});
child.on('exit', (code) => {
  const tap = readFileSync(join(root, tapFile), 'utf8');
  rmSync(join(root, tapFile), { force: true });
  const num = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const passed = num('pass'),
    failed = num('fail') + num('cancelled'),
    skipped = num('skipped') + num('todo');
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
