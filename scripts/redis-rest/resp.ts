/**
 * RESP2, the wire protocol of redis-server, kept lossless: bulk and simple strings stay raw bytes, integers
 * stay exact (BigInt, since Redis integers are signed 64-bit), a null reply stays distinct from "", and error
 * replies get their own type at any depth (EXEC results and Lua tables can nest them).
 */

/** An error reply (`-ERR …`), top level or nested inside an array. */
export class RespError {
  /** The full error line as Redis sent it, e.g. `NOSCRIPT No matching script. Please use EVAL.` */
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** One decoded reply: bytes for strings, bigint for integers, null for `$-1`/`*-1`. */
export type RespValue = Buffer | bigint | null | RespError | RespValue[];

const CRLF = Buffer.from("\r\n");

/**
 * Encodes one command as a RESP array of bulk strings, the only form Redis accepts from clients.
 * @example encodeCommand([Buffer.from("GET"), Buffer.from("k")]) // "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
 */
export function encodeCommand(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, CRLF);
  return Buffer.concat(parts);
}

/** Returned by the reader when the buffer ends inside a reply; the reply is parsed again with more bytes. */
const INCOMPLETE = Symbol("incomplete");

/**
 * Incremental RESP2 reply parser: feed it socket chunks, get back every reply they complete.
 * @example const replies = parser.push(chunk);
 */
export class RespParser {
  #buffer: Buffer = Buffer.alloc(0);
  #pos = 0;
  // Bytes needed before a retry can succeed: a large bulk string arriving in many chunks is then
  // re-parsed once, not once per chunk.
  #needed = 0;
  #chunks: Buffer[] = [];
  #chunkBytes = 0;

  /** Appends a chunk and returns the replies it completes, oldest first. Throws on a protocol violation. */
  push(chunk: Buffer): RespValue[] {
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    if (this.#buffer.length + this.#chunkBytes < this.#needed) return [];
    this.#buffer = Buffer.concat([this.#buffer, ...this.#chunks]);
    this.#chunks = [];
    this.#chunkBytes = 0;
    const replies: RespValue[] = [];
    let start = 0;
    for (;;) {
      this.#pos = start;
      const value = this.#read();
      if (value === INCOMPLETE) break;
      replies.push(value);
      start = this.#pos;
      this.#needed = 0;
    }
    this.#buffer = this.#buffer.subarray(start);
    if (this.#needed > 0) this.#needed -= start;
    return replies;
  }

  #line(): string | typeof INCOMPLETE {
    const end = this.#buffer.indexOf(CRLF, this.#pos);
    if (end < 0) return INCOMPLETE;
    const line = this.#buffer.toString("latin1", this.#pos, end);
    this.#pos = end + 2;
    return line;
  }

  #read(): RespValue | typeof INCOMPLETE {
    if (this.#pos >= this.#buffer.length) return INCOMPLETE;
    const type = this.#buffer[this.#pos++];
    const line = this.#line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // '+' simple string: kept as bytes so "OK" is encoded like any other string
        return Buffer.from(line, "latin1");
      case 0x2d: // '-' error; the line is UTF-8 when a Lua script put non-ASCII into it
        return new RespError(Buffer.from(line, "latin1").toString("utf8"));
      case 0x3a: // ':' integer, 64-bit: a Number would round past 2^53
        return BigInt(line);
      case 0x24: // '$' bulk string
        return this.#bulk(Number.parseInt(line, 10));
      case 0x2a: // '*' array
        return this.#array(Number.parseInt(line, 10));
      default:
        throw new Error(`RESP protocol error: unexpected type byte ${type}`);
    }
  }

  #bulk(length: number): Buffer | null | typeof INCOMPLETE {
    if (length < 0) return null;
    const end = this.#pos + length;
    if (end + 2 > this.#buffer.length) {
      this.#needed = Math.max(this.#needed, end + 2);
      return INCOMPLETE;
    }
    // A copy, so a reply never pins the whole socket buffer in memory.
    const value = Buffer.from(this.#buffer.subarray(this.#pos, end));
    this.#pos = end + 2;
    return value;
  }

  #array(length: number): RespValue[] | null | typeof INCOMPLETE {
    if (length < 0) return null;
    const items: RespValue[] = [];
    for (let i = 0; i < length; i++) {
      const item = this.#read();
      if (item === INCOMPLETE) return INCOMPLETE;
      items.push(item);
    }
    return items;
  }
}
