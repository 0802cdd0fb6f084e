// Random API input for the fuzz tests of params validation (shared/validate.fuzz.test.ts) and of
// the control server's frames (main/headless/control-server.fuzz.test.ts): method names and params
// keys that are the API's own, the hostile ones (prototype names) and random ones.
import fc from 'fast-check';
import { methodNames, paramNames } from './validate.ts';

const hostileNames = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

/** Every params key some method takes. */
export const knownParamKeys: readonly string[] = [...new Set(methodNames.flatMap((m) => paramNames(m)))].sort();

/** A method name: a real one, a prototype name, or random text. */
export const methodName = fc.oneof(fc.constantFrom(...methodNames), fc.string({ maxLength: 12 }), fc.constantFrom(...hostileNames));

/** A params key: one the API takes, a prototype name, or random text. */
export const paramKey = fc.oneof(fc.constantFrom(...knownParamKeys, ...hostileNames), fc.string({ maxLength: 8 }));
