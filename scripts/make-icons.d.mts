// Types for make-icons.mjs (plain JS so it runs without a TypeScript loader).
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer;
export function encodeIcoBitmap(size: number, rgba: Uint8Array): Buffer;
export function encodeIco(images: { size: number; rgba: Uint8Array; png: Buffer }[]): Buffer;
export function encodeIcns(entries: { type: string; png: Buffer }[]): Buffer;
export const TRAY_STATES: Record<'idle' | 'syncing' | 'paused' | 'error' | 'conflicts', string>;
export function makeIcons(): Map<string, Buffer>;
