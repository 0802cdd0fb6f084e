import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeVersionProblem, requiredNodeRange, satisfiesRange } from './node-version.ts';

test('version ranges as package.json engines write them', () => {
  assert.equal(satisfiesRange('20.19.0', '>=20.19'), true);
  assert.equal(satisfiesRange('v20.20.2', '>=20.19'), true);
  assert.equal(satisfiesRange('22.1.0', '>=20.19'), true);
  assert.equal(satisfiesRange('20.18.3', '>=20.19'), false);
  assert.equal(satisfiesRange('18.20.0', '>=20.19'), false);
  assert.equal(satisfiesRange('20.19.1', '^20.19.0 || ^22.13.0 || >=24'), true);
  assert.equal(satisfiesRange('22.12.0', '^20.19.0 || ^22.13.0 || >=24'), false);
  assert.equal(satisfiesRange('24.0.0', '^20.19.0 || ^22.13.0 || >=24'), true);
  assert.equal(satisfiesRange('21.0.0', '>= 20.19.0 < 21'), false);
  assert.equal(satisfiesRange('20.19.5', '~20.19'), true);
  assert.equal(satisfiesRange('20.20.0', '~20.19'), false);
  assert.equal(satisfiesRange('20.5.0', '20'), true);
  // a form this does not read never stops anyone
  assert.equal(satisfiesRange('20.19.0', '>=20.19.0-rc.1'), null);
  assert.equal(nodeVersionProblem('10.0.0', '>=20.19.0-rc.1'), null);
});

test('the daemon reads the supported Node versions from package.json and says clearly when this one is not', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  assert.equal(requiredNodeRange(), pkg.engines.node);
  assert.equal(nodeVersionProblem(process.versions.node), null, 'the Node running the tests is supported');
  assert.equal(
    nodeVersionProblem('18.20.4', '>=20.19'),
    'Peerfold needs Node >=20.19 (package.json "engines"); this is Node 18.20.4. Install a supported Node and start it again.',
  );
  assert.equal(requiredNodeRange(new URL('file:///nonexistent/package.json')), null);
});
