import { isAscii } from 'node:buffer';
import Papa from 'papaparse';

/**
 * One CSV record: its cells, the file byte offset just past it, the 1-based line it ends on, and
 * the indexes of the cells that held bytes that are not UTF-8 (undefined when none did).
 */
export type CsvRecordSink = (cells: string[], end: number, line: number, invalidCells: readonly number[] | undefined) => void;

export interface CsvRecordReaderOptions {
  delimiter: string;
  /** File byte offset of the first byte fed: a resumed tail does not start at 0. */
  byteOffset: number;
  /** Drop a UTF-8 byte order mark in front of the first byte fed (a file's start, not a resumed tail's). */
  bom: boolean;
}

type Newline = '\n' | '\r\n' | '\r';
const BOM = 0xfeff;
const BOM_BYTES = 3;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The file's record delimiter, from its first line break outside quotes: papaparse needs one, and
 * Marketo writes one style per file. Undefined while the text seen so far cannot tell (no break
 * yet, or a '\r' that may be the first half of '\r\n'). A resumed tail starts at a record
 * boundary, so its quote state starts closed too.
 */
function detectNewline(text: string, final: boolean): Newline | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LF) return '\n';
    else if (c === CR) {
      if (i + 1 < text.length) return text.charCodeAt(i + 1) === LF ? '\r\n' : '\r';
      return final ? '\r' : undefined;
    }
  }
  return final ? '\n' : undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * Stands for one byte that is not UTF-8: a lone low surrogate (U+DC80–U+DCFF, as Python's
 * surrogateescape), which decoding valid UTF-8 never yields. One character per byte keeps the
 * file's byte offsets countable, and the byte can never be a quote, delimiter or line break
 * (those are ASCII), so the CSV structure around it reads as written.
 */
function stand(byte: number): string {
  return String.fromCharCode(0xdc00 | byte);
}

/** A stand-in character: a low surrogate not preceded by a high one. */
const STAND_IN = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/**
 * Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), 0 when the byte there
 * cannot start one, -1 when the bytes end inside a sequence that is well-formed so far.
 */
function sequenceLength(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  let need: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) low = 0xa0;
    else if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) low = 0x90;
    else if (b === 0xf4) high = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    if (i + k >= bytes.length) return -1;
    const c = bytes[i + k]!;
    if (c < low || c > high) return 0;
    low = 0x80;
    high = 0xbf;
  }
  return need + 1;
}

/**
 * Decodes bytes that a strict decoder refused: well-formed runs as UTF-8, every other byte as
 * its stand-in. A sequence cut off by the end of the bytes is returned as `carry` for the next
 * chunk, unless this is the end of the file.
 */
function decodeLenient(bytes: Buffer, final: boolean): { text: string; carry: Buffer } {
  let text = '';
  let run = 0;
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i]! < 0x80) {
      i += 1;
      continue;
    }
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    if (length < 0 && !final) return { text: text + bytes.toString('utf8', run, i), carry: Buffer.from(bytes.subarray(i)) };
    text += bytes.toString('utf8', run, i) + stand(bytes[i]!);
    i += 1;
    run = i;
  }
  return { text: text + bytes.toString('utf8', run), carry: EMPTY };
}

/** Bytes at the end of valid UTF-8 that begin a character still to be completed (what a streaming decoder holds). */
function unfinishedCharacter(held: Buffer, chunk: Buffer): Buffer {
  const bytes = chunk.length >= 3 || held.length === 0 ? chunk : Buffer.concat([held, chunk]);
  for (let k = 1; k <= Math.min(3, bytes.length); k++) {
    const b = bytes[bytes.length - k]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > k ? Buffer.from(bytes.subarray(bytes.length - k)) : EMPTY;
  }
  return EMPTY;
}

/** UTF-8 length of text that holds stand-ins, each of which was one byte of the file. */
function byteLengthWithStandIns(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // Decoded text has no lone high surrogate: this one and the next are one 4-byte character.
      n += 4;
      i += 1;
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 1;
    else n += 3;
  }
  return n;
}

function quoteProblem(code: string): string {
  return code === 'MissingQuotes' ? 'a quoted cell is never closed (unclosed quote)' : 'a closing quote is followed by other characters than a delimiter or line break';
}

/**
 * Splits a CSV byte stream into records of cells, with papaparse doing the CSV work on text and
 * this reader turning its character positions into exact file byte offsets and line numbers.
 *
 * Bytes become text once per chunk (a streaming TextDecoder keeps a multi-byte character split
 * across chunks whole). Papaparse parses the text up to its last complete record; the rest is
 * carried into the next chunk's text. Byte offsets are the character offsets while the text is
 * ASCII, and the UTF-8 length of each record's characters otherwise.
 *
 * A chunk with bytes that are not UTF-8 is decoded again byte by byte, each bad byte as one
 * stand-in character: offsets stay exact, the record around it is parsed as usual, and the sink
 * is told which of its cells held such bytes. One damaged record costs that record, not the file.
 *
 * Broken quoting (a quote left open at the end, a closing quote followed by other characters)
 * throws: nothing after it can be trusted.
 */
export class CsvRecordReader {
  // Fatal: a byte that is not UTF-8 would become U+FFFD, whose 3 bytes would shift every offset
  // after it; such a chunk is decoded again by `decodeLenient` instead.
  private decoder = newDecoder();
  /** The start of a character the decoder holds until the next chunk completes it. */
  private held: Buffer = EMPTY;
  private readonly delimiter: string;
  private readonly onRecord: CsvRecordSink;
  private parser: Papa.Parser | undefined;
  private newline: Newline = '\n';
  private lineBreakChar = '\n';
  private bomPending: boolean;
  /** Text not yet parsed into a complete record, and the file byte offset of its first character. */
  private tail = '';
  private tailAscii = true;
  private tailLossy = false;
  private tailByte: number;
  private lineBreaks = 0;
  // State of the parse call in progress, read by the step callback.
  private text = '';
  private ascii = true;
  /** The text holds stand-ins for bytes that are not UTF-8. */
  private lossy = false;
  private recordStart = 0;
  private recordStartByte = 0;

  constructor(options: CsvRecordReaderOptions, onRecord: CsvRecordSink) {
    this.delimiter = options.delimiter;
    this.tailByte = options.byteOffset;
    this.bomPending = options.bom;
    this.onRecord = onRecord;
  }

  write(chunk: Buffer): void {
    let decoded: string;
    try {
      decoded = this.decoder.decode(chunk, { stream: true });
    } catch {
      this.feed(this.decodeAgain(Buffer.concat([this.held, chunk]), false), false, false, true);
      return;
    }
    // An ASCII chunk cannot finish a character held back from the previous chunk (it would have
    // failed), so its text is ASCII too and the decoder holds nothing after it.
    const ascii = isAscii(chunk);
    this.held = ascii ? EMPTY : unfinishedCharacter(this.held, chunk);
    this.feed(decoded, false, ascii, false);
  }

  /** Parses what is left as the last record (a file need not end with a line break). */
  end(): void {
    let decoded: string;
    try {
      decoded = this.decoder.decode();
    } catch {
      // The file ends inside a character: its bytes are not UTF-8.
      this.feed(this.decodeAgain(this.held, true), true, false, true);
      return;
    }
    this.feed(decoded, true, true, false);
  }

  /** Bytes the strict decoder refused (with the character start it held): stand-ins for the bad bytes, and a fresh decoder. */
  private decodeAgain(bytes: Buffer, final: boolean): string {
    const { text, carry } = decodeLenient(bytes, final);
    this.decoder = newDecoder();
    // A character cut by the chunk's end waits in the new decoder, as it would have in the old one.
    if (carry.length > 0) this.decoder.decode(carry, { stream: true });
    this.held = carry;
    return text;
  }

  private feed(decoded: string, final: boolean, decodedAscii: boolean, decodedLossy: boolean): void {
    let text = this.tail + decoded;
    let textByte = this.tailByte;
    if (this.bomPending) {
      if (text.length === 0 && !final) return;
      this.bomPending = false;
      if (text.charCodeAt(0) === BOM) {
        text = text.slice(1);
        textByte += BOM_BYTES;
      }
    }
    const parser = this.parser ?? this.createParser(text, final);
    if (!parser) {
      this.tail = text;
      this.tailByte = textByte;
      this.tailAscii &&= decodedAscii;
      this.tailLossy ||= decodedLossy;
      return;
    }
    this.text = text;
    // All-ASCII text (the common case) needs no per-record UTF-8 count: characters are bytes.
    this.ascii = decodedAscii && this.tailAscii;
    this.lossy = decodedLossy || this.tailLossy;
    this.recordStart = 0;
    this.recordStartByte = textByte;
    const result = parser.parse(text, 0, !final) as Papa.ParseResult<string[]>;
    // An error on the unfinished last record is not trusted yet (its closing quote may be followed
    // by a '\r\n' cut in half); the next chunk parses that record again. On the last call it counts.
    if (final && result.errors.length > 0) this.fail(result.errors[0]!.code, this.lineBreaks + 1);
    const consumed = result.meta.cursor;
    this.tailByte = this.byteAt(consumed);
    this.tail = consumed === text.length ? '' : text.slice(consumed);
    this.tailAscii = this.ascii || Buffer.byteLength(this.tail, 'utf8') === this.tail.length;
    this.tailLossy = this.lossy && this.tail.length > 0;
    this.text = '';
  }

  private createParser(text: string, final: boolean): Papa.Parser | undefined {
    const newline = detectNewline(text, final);
    if (newline === undefined) return undefined;
    this.newline = newline;
    this.lineBreakChar = newline === '\r' ? '\r' : '\n';
    this.parser = new Papa.Parser({
      delimiter: this.delimiter,
      newline,
      quoteChar: '"',
      step: (result: Papa.ParseStepResult<string[][]>) => this.step(result),
    });
    return this.parser;
  }

  private step(result: Papa.ParseStepResult<string[][]>): void {
    const end = result.meta.cursor;
    const text = this.text;
    // Line breaks inside quoted cells count as lines, as an editor shows the file.
    const breakChar = this.lineBreakChar;
    const startLine = this.lineBreaks + 1;
    let breaks = 0;
    for (let i = text.indexOf(breakChar, this.recordStart); i !== -1 && i < end; i = text.indexOf(breakChar, i + 1)) {
      breaks += 1;
      if (i + 1 === end) break;
    }
    this.lineBreaks += breaks;
    const terminated = text.startsWith(this.newline, end - this.newline.length);
    const line = terminated ? this.lineBreaks : this.lineBreaks + 1;
    if (result.errors.length > 0) this.fail(result.errors[0]!.code, startLine);
    const byteEnd = this.byteAt(end);
    this.recordStart = end;
    this.recordStartByte = byteEnd;
    const cells = result.data[0]!;
    this.onRecord(cells, byteEnd, line, this.lossy ? cellsWithStandIns(cells) : undefined);
  }

  /** File byte offset of a character position of the current text at or past the current record's start. */
  private byteAt(position: number): number {
    if (this.ascii) return this.recordStartByte + position - this.recordStart;
    if (position === this.recordStart) return this.recordStartByte;
    if (this.lossy) return this.recordStartByte + byteLengthWithStandIns(this.text, this.recordStart, position);
    return this.recordStartByte + Buffer.byteLength(this.text.slice(this.recordStart, position), 'utf8');
  }

  /** Names where the broken record starts: an unclosed quote runs to the end of the file. */
  private fail(code: string, startLine: number): never {
    throw new Error(`bulk file record starting on line ${startLine}: ${quoteProblem(code)}`);
  }
}

function newDecoder() {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
}

function cellsWithStandIns(cells: readonly string[]): number[] | undefined {
  let found: number[] | undefined;
  for (let i = 0; i < cells.length; i++) if (STAND_IN.test(cells[i]!)) (found ??= []).push(i);
  return found;
}
