/**
 * uids: one user id per live instance, so that no instance can signal (or ptrace, or read the
 * /proc files of) another: processes of different unprivileged uids cannot touch each other.
 * Ids are taken from [first, first + size); the start is random so that two platforms sharing
 * a machine rarely meet (give each its own GUST_SANDBOX_UID to be sure).
 */
import { randomInt } from 'node:crypto';

export class UidPool {
  private readonly used = new Set<number>();
  private next: number;

  constructor(
    private readonly first: number,
    private readonly size: number,
  ) {
    this.next = randomInt(size);
  }

  take(): number {
    if (this.used.size >= this.size) throw new Error(`all ${this.size} instance uids are in use`);
    while (this.used.has(this.first + this.next)) this.next = (this.next + 1) % this.size;
    const uid = this.first + this.next;
    this.used.add(uid);
    this.next = (this.next + 1) % this.size;
    return uid;
  }

  release(uid: number): void {
    this.used.delete(uid);
  }
}
