// The layer rules in eslint.config.js are only worth something if they fire: each case below lints
// one line of code as if it sat at a given path, and checks the rule catches it (or lets it pass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const root = new URL('..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath });
  return result!.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const IMPORTS = '@typescript-eslint/no-restricted-imports';

const refused: [file: string, code: string, why: RegExp][] = [
  ['main/engine/net/x.ts', "import { Folder } from '../model/folder.ts';", /below the model floor/],
  ['main/engine/protocol/x.ts', "import type { Handlers } from '../api/handlers.ts';", /below the model floor/],
  ['main/engine/scan/x.ts', "import type { Engine } from '../engine.ts';", /below the model floor/],
  ['main/engine/sync/x.ts', "import { applyPulled } from '../pull/apply.ts';", /below the model floor/],
  ['main/engine/keys/x.ts', "export { Folder } from '../model/folder.ts';", /below the model floor/],
  ['main/engine/index/x.ts', "import { Network } from '../model/network.ts';", /below the model floor/],
  ['main/engine/peer/x.ts', "import { Network } from '../model/network.ts';", /never imports model/],
  ['main/engine/peer/x.ts', "import type { Engine } from '../engine.ts';", /never imports model/],
  ['main/engine/peer/x.ts', "import initSqlJs from 'sql.js';", /SQL lives only/],
  ['main/engine/pull/x.ts', "import { archiveReplaced } from '../model/archive.ts';", /never imports model/],
  ['main/engine/pull/x.ts', "import type { DeviceLink } from '../peer/device-link.ts';", /never imports model/],
  ['main/engine/pull/x.ts', "import type { Engine } from '../engine.ts';", /never imports model/],
  ['main/engine/model/x.ts', "import { app } from 'electron';", /plain Node/],
  ['main/engine/net/x.ts', "import type { WebContents } from 'electron';", /plain Node/],
  ['main/engine/x.ts', "import { ipcMain } from 'electron/main';", /plain Node/],
  ['main/headless/x.ts', "import electron = require('electron');", /plain Node/],
  ['shared/x.ts', "import { app } from 'electron';", /plain Node/],
  ['shared/x.ts', "import type { Engine } from '../main/engine/engine.ts';", /imports nothing of theirs/],
  ['shared/x.ts', "import { useStore } from '../renderer/src/store/store.ts';", /imports nothing of theirs/],
  ['main/engine/model/x.ts', "import { runDaemon } from '../../headless/daemon.ts';", /never imports its shells/],
  ['main/engine/api/x.ts', "import { createWindow } from '../../app/window.ts';", /never imports its shells/],
  ['main/engine/x.ts', "import { App } from '../../renderer/src/ui/App.tsx';", /never imports its shells/],
  ['main/engine/model/x.ts', "import initSqlJs from 'sql.js';", /SQL lives only/],
  ['main/engine/model/x.ts', "import { DurableDb } from '../index/durable-db.ts';", /SQL lives only/],
  ['main/headless/x.ts', "import initSqlJs from 'sql.js';", /SQL lives only/],
  ['bench/x.ts', "import { DurableDb } from '../main/engine/index/durable-db.ts';", /SQL lives only/],
  [
    'main/engine/model/x.ts',
    "declare const store: { db: { run(s: string): void } };\nstore.db.run('DELETE FROM files');",
    /raw database is private/,
  ],
  ['e2e/x.ts', "declare const engine: any;\nengine.store.db.get('SELECT 1');", /raw database is private/],
  ['renderer/src/ui/x.tsx', "import { Engine } from '../../../main/engine/engine.ts';", /only shared/],
  ['renderer/src/x.ts', "import { api } from '../../preload/index.ts';", /never import each other/],
  ['preload/x.ts', "import { call } from '../main/app/ipc.ts';", /only shared/],
];

const allowed: [file: string, code: string][] = [
  ['main/engine/model/x.ts', "import { Folder } from './folder.ts';"],
  ['main/engine/api/x.ts', "import { Folder } from '../model/folder.ts';"],
  ['main/engine/net/x.ts', "import { deriveShareKeys } from '../keys/secrets.ts';"],
  ['main/engine/peer/x.ts', "import { Handshake } from '../protocol/handshake.ts';"],
  ['main/engine/model/x.ts', "import { DeviceLink } from '../peer/device-link.ts';"],
  ['main/engine/pull/x.ts', "import { decide } from '../sync/decide.ts';"],
  ['main/engine/index/x.ts', "import initSqlJs from 'sql.js';"],
  ['main/engine/index/x.ts', "declare const o: { db: { run(s: string): void } };\no.db.run('DELETE FROM files');"],
  ['main/engine/scan/x.ts', "import type { FileEntry } from '../../../shared/api.ts';"],
  ['main/app/x.ts', "import { app } from 'electron';"],
  ['main/app/x.ts', "import { runDaemon } from '../headless/daemon.ts';"],
  ['renderer/src/ui/x.tsx', "import type { ShareSummary } from '../../../shared/api.ts';"],
  ['renderer/src/ui/x.tsx', "import { useStore } from '../store/store.ts';"],
  ['preload/x.ts', "import { contextBridge } from 'electron';"],
];

for (const [file, code, why] of refused) {
  test(`the lint refuses in ${file}: ${code.split('\n').pop()}`, async () => {
    const got = await problems(file, code);
    assert.ok(
      got.some((p) => (p.startsWith(IMPORTS) || p.startsWith('no-restricted-syntax')) && why.test(p)),
      `expected a ${why} layer error, got: ${got.join(' | ') || 'nothing'}`,
    );
  });
}

for (const [file, code] of allowed) {
  test(`the lint allows in ${file}: ${code.split('\n').pop()}`, async () => {
    const got = (await problems(file, code)).filter((p) => p.startsWith(IMPORTS) || p.startsWith('no-restricted-syntax'));
    assert.deepEqual(got, []);
  });
}
