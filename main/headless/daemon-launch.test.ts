import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAEMON_NODE_FLAGS, NO_RELAUNCH_ENV, RELAUNCHED_ENV, daemonLaunchPlan, daemonNodeFlags } from './daemon-launch.ts';

const base = { env: { HOME: '/home/u', PATH: '/bin' }, execArgv: [] as string[], canExecve: false, platform: 'linux' };

test('a daemon started plainly starts again with the memory settings, keeping its own flags and environment', () => {
  const plan = daemonLaunchPlan({ ...base, execArgv: ['--import', 'x.mjs'] });
  if (plan.kind !== 'spawn') return assert.fail(`planned ${plan.kind}`);
  assert.deepEqual(plan.nodeArgs, [...DAEMON_NODE_FLAGS, '--import', 'x.mjs']);
  assert.equal(plan.env.HOME, '/home/u');
  assert.equal(plan.env[RELAUNCHED_ENV], 'spawn');
  // where Node can replace the process, no second process stays behind
  assert.equal(daemonLaunchPlan({ ...base, canExecve: true }).kind, 'execve');
});

test('the relaunched daemon, and one a launcher started with the settings, runs as it is', () => {
  const relaunched = daemonLaunchPlan({ ...base, env: { ...base.env, [RELAUNCHED_ENV]: 'spawn' } });
  assert.deepEqual(relaunched, { kind: 'run' });
  assert.deepEqual(daemonLaunchPlan({ ...base, execArgv: daemonNodeFlags() }), { kind: 'run' });
  // the same flags through NODE_OPTIONS count too
  const viaOptions = { ...base.env, NODE_OPTIONS: `--enable-source-maps ${daemonNodeFlags().join(' ')}` };
  assert.deepEqual(daemonLaunchPlan({ ...base, env: viaOptions }), { kind: 'run' });
  assert.deepEqual(daemonLaunchPlan({ ...base, env: { ...base.env, [NO_RELAUNCH_ENV]: '1' } }), { kind: 'run' });
  // no signals to pass on under Windows: there the daemon runs as started
  assert.deepEqual(daemonLaunchPlan({ ...base, platform: 'win32' }), { kind: 'run' });
});

test('a setting the user gave, to any value, is theirs: it is not added again', () => {
  const flag = DAEMON_NODE_FLAGS[0]!.split('=')[0]!;
  assert.deepEqual(daemonLaunchPlan({ ...base, execArgv: [`${flag}=16`] }), { kind: 'run' });
  assert.deepEqual(daemonLaunchPlan({ ...base, execArgv: [flag, '16'] }), { kind: 'run' });
});
