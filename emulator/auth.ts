import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';

/**
 * OAuth client-credentials tokens as Marketo's identity service issues them: `{uuid}:{suffix}`,
 * one live token per client that is handed out again with its remaining lifetime, and an
 * expired token answering 602 once and 601 after that (marketo-api.md §2).
 */
interface TokenState {
  token: string;
  expiresAtMs: number;
  expiryReported: boolean;
  revoked: boolean;
}

export type TokenCheck = { ok: true } | { ok: false; code: '600' | '601' | '602' };

export class TokenIssuer {
  private readonly tokens = new Map<string, TokenState>();
  private current: TokenState | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    private readonly suffix: string,
  ) {}

  /** Returns the live token (issuing one if needed) with its remaining `expires_in` seconds. */
  issue(): { token: string; expiresIn: number } {
    const now = this.clock.now();
    if (!this.current || this.current.revoked || now >= this.current.expiresAtMs) {
      this.current = { token: `${randomUUID()}:${this.suffix}`, expiresAtMs: now + this.ttlSeconds * 1000, expiryReported: false, revoked: false };
      this.tokens.set(this.current.token, this.current);
    }
    return { token: this.current.token, expiresIn: Math.max(0, Math.floor((this.current.expiresAtMs - now - 1) / 1000)) };
  }

  check(token: string | undefined): TokenCheck {
    if (token === undefined || token === '') return { ok: false, code: '600' };
    const state = this.tokens.get(token);
    if (!state || state.revoked) return { ok: false, code: '601' };
    if (this.clock.now() >= state.expiresAtMs) {
      if (state.expiryReported) return { ok: false, code: '601' };
      state.expiryReported = true;
      return { ok: false, code: '602' };
    }
    return { ok: true };
  }

  /** Test hook: every issued token expires now (next use answers 602, then 601). */
  expireAll(): void {
    const now = this.clock.now();
    for (const s of this.tokens.values()) if (s.expiresAtMs > now) s.expiresAtMs = now;
  }

  /** Test hook: every issued token becomes unknown (601). */
  revokeAll(): void {
    for (const s of this.tokens.values()) s.revoked = true;
  }
}
