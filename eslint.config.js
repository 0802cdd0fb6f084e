// The house rules a machine can check. The layer rules encode ARCHITECTURE.md's import map: a
// module may only import from the layers below it. They match import strings (every project import
// is relative), so they hold no matter how deep the importing file sits.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** An import of any module under one of these engine folders, named relatively from anywhere. */
const engineFolder = (...names) => `(^|/)(${names.join('|')})/`;
/** An import that climbs to the repository root and enters one of these top-level folders. */
const topFolder = (...names) => `^(\\.\\./)+(${names.join('|')})(/|$)`;

const ELECTRON = { name: 'electron', message: 'The engine and the daemon run under plain Node: no Electron, not even for types.' };
const ELECTRON_SUBPATH = { regex: '^electron/', message: ELECTRON.message };

const ENGINE_OUTSIDE = {
  regex: `${engineFolder('app', 'headless')}|${topFolder('renderer', 'preload', 'scripts', 'e2e', 'bench')}`,
  message: 'The engine (main/engine) never imports its shells (main/app, main/headless) nor the UI: they call it through engine.ts.',
};
const MODEL_FLOOR = {
  regex: `${engineFolder('model', 'peer', 'pull', 'api')}|(^|/)engine\\.ts$`,
  message:
    'net/, protocol/, index/, scan/, sync/, keys/ and config/ sit below the model floor: they take what they need as parameters or narrow interfaces, never import model/, peer/, pull/, api/ or engine.ts.',
};
const ABOVE_LINK = {
  regex: `${engineFolder('model', 'api')}|(^|/)engine\\.ts$`,
  message:
    'peer/ (one link to one device) is used by model/network.ts and gets what it needs through DeviceLinkHost: it never imports model/, api/ or engine.ts.',
};
const BELOW_MODEL = {
  regex: `${engineFolder('model', 'peer', 'api')}|(^|/)engine\\.ts$`,
  message:
    'pull/ (bringing files to the global state) is driven by model/ and gets chunks through ChunkSwarm: it never imports model/, peer/, api/ or engine.ts.',
};
const SQL_DRIVER = {
  regex: `^sql\\.js$|(^|/)index/(durable-db|sqljs|schema)\\.ts$`,
  message: 'SQL lives only in main/engine/index/: use (or add) a named IndexStore method.',
};
const OUTSIDE_UI = {
  regex: topFolder('main', 'scripts', 'e2e', 'bench', 'bin'),
  message: 'The renderer and the preload import only shared/ from outside their own folder (the API contract is shared/api.ts).',
};
const SHARED_ALONE = {
  regex: topFolder('main', 'renderer', 'preload', 'scripts', 'e2e', 'bench'),
  message: 'shared/ is the contract every side imports: it imports nothing of theirs.',
};
const UI_SIDES = {
  regex: topFolder('renderer', 'preload'),
  message: 'The renderer and the preload never import each other: they meet at the contract in shared/.',
};

/** A raw database handle reached through something else (`store.db.run`, `x.db.rows`, ...). */
const RAW_DB_ACCESS = {
  selector: "MemberExpression[object.type='MemberExpression'][object.property.name='db']",
  message: 'SQL lives only in main/engine/index/: the raw database is private to IndexStore; use (or add) a named IndexStore method.',
};

const restrict = (...patterns) => ['error', { paths: patterns.filter((p) => p.name), patterns: patterns.filter((p) => p.regex) }];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'release/', 'out/', '.tmp/', 'test-results/', 'assets/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs,ts,tsx,mts}'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (callback positions, destructuring to omit a key)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // names, paths and codes from outside are checked for control characters on purpose
      'no-control-regex': 'off',
      // it flags the initial value before a try or a loop, which TypeScript's definite-assignment check wants
      'no-useless-assignment': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // renderer/dev scripts hand functions to a browser page, so both sets of globals apply there
    files: ['renderer/**/*.{ts,tsx,mjs}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['renderer/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },

  // ---- layers ------------------------------------------------------------------------------------
  {
    files: ['main/engine/**/*.ts'],
    ignores: ['main/engine/index/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, ENGINE_OUTSIDE, SQL_DRIVER),
      'no-restricted-syntax': ['error', RAW_DB_ACCESS],
    },
  },
  {
    files: ['main/engine/index/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, ENGINE_OUTSIDE, MODEL_FLOOR),
    },
  },
  {
    files: ['main/engine/{net,protocol,scan,sync,keys,config}/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, ENGINE_OUTSIDE, SQL_DRIVER, MODEL_FLOOR),
    },
  },
  {
    files: ['main/engine/peer/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, ENGINE_OUTSIDE, SQL_DRIVER, ABOVE_LINK),
    },
  },
  {
    files: ['main/engine/pull/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, ENGINE_OUTSIDE, SQL_DRIVER, BELOW_MODEL),
    },
  },
  {
    files: ['main/headless/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, SQL_DRIVER),
      'no-restricted-syntax': ['error', RAW_DB_ACCESS],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(ELECTRON, ELECTRON_SUBPATH, SQL_DRIVER, SHARED_ALONE),
      'no-restricted-syntax': ['error', RAW_DB_ACCESS],
    },
  },
  {
    files: ['main/app/**/*.ts', 'bench/**/*.ts', 'e2e/**/*.ts', 'scripts/**/*.{ts,mjs}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(SQL_DRIVER),
      'no-restricted-syntax': ['error', RAW_DB_ACCESS],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}', 'preload/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(OUTSIDE_UI, UI_SIDES),
    },
  },
);
