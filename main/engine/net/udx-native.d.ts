// The part of udx-native (CommonJS, no types of its own) that net/udx.ts uses. Its streams are
// streamx streams, not node:stream ones: net/udx.ts wraps them before anything else sees them.

declare module 'udx-native' {
  import type { EventEmitter } from 'node:events';

  export interface UdxAddress {
    host: string;
    family: number;
    port: number;
  }

  export interface UdxSocket extends EventEmitter {
    readonly bound: boolean;
    readonly closing: boolean;
    bind(port?: number, host?: string): void;
    address(): UdxAddress;
    trySend(buffer: Uint8Array, port: number, host?: string, ttl?: number): void;
    close(): Promise<void>;
    setRecvBufferSize(size: number): number;
    setSendBufferSize(size: number): number;
    on(event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this;
    on(event: 'close' | 'listening' | 'idle' | 'busy', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export interface UdxStreamOptions {
    firewall?: (socket: UdxSocket, port: number, host: string) => boolean;
  }

  /** A streamx Duplex (write/end/destroy, 'data'/'drain'/'end'/'close'/'error'). */
  export interface UdxStream extends EventEmitter {
    readonly id: number;
    readonly connected: boolean;
    readonly destroyed: boolean;
    readonly rtt: number;
    readonly cwnd: number;
    readonly inflight: number;
    readonly bytesTransmitted: number;
    readonly bytesReceived: number;
    readonly retransmits: number;
    readonly remoteHost: string | null;
    readonly remotePort: number;
    connect(socket: UdxSocket, remoteId: number, port: number, host?: string): void;
    write(data: Uint8Array): boolean;
    end(): void;
    destroy(err?: Error): void;
    pause(): this;
    resume(): this;
    setKeepalive(timeoutMs: number): void;
  }

  export interface UdxInterface {
    name: string;
    host: string;
    family: number;
    internal: boolean;
  }

  export default class UDX {
    constructor();
    createSocket(options?: { ipv6Only?: boolean; reuseAddress?: boolean }): UdxSocket;
    createStream(id: number, options?: UdxStreamOptions): UdxStream;
    networkInterfaces(): UdxInterface[];
    static isIPv4(host: string): boolean;
    static isIPv6(host: string): boolean;
  }
}
