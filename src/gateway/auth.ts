/** auth: who is calling. A bearer key (`Authorization: Bearer gust_...`) or, where AWS clients call, SigV4. */
import type { KeyRecord } from '../backends/ports.js';
import type { Keys } from '../control/keys.js';
import { GustError } from '../errors.js';
import { type EdgeRequest, header } from './http.js';
import { hasSigV4, verifySigV4 } from './sigv4.js';

export const KEY_NEEDED = 'a key is needed: send Authorization: Bearer <key> (gust keys create makes one)';

/** `sigv4` names the AWS service a signature must be made for (`lambda`), or false where only bearer keys work. */
export async function authenticate(
  req: EdgeRequest,
  keys: Keys,
  opts: { sigv4: string | false },
): Promise<KeyRecord> {
  if (opts.sigv4 && hasSigV4(req.headers)) {
    let found: KeyRecord | undefined;
    const result = await verifySigV4(
      { method: req.method, path: req.pathname, query: req.query, headers: req.headers, body: req.body },
      async (accessKeyId) => {
        const s = await keys.secretFor(accessKeyId);
        found = s?.record;
        return s?.secret ?? null;
      },
    );
    if (!result.ok || !found)
      throw new GustError(
        'UNAUTHORIZED',
        `AWS signature refused: ${result.ok ? 'unknown key' : result.reason}`,
      );
    if (result.service !== opts.sigv4) {
      throw new GustError(
        'UNAUTHORIZED',
        `AWS signature refused: it was made for ${result.service}, this endpoint is ${opts.sigv4}`,
      );
    }
    keys.admit(found);
    return found;
  }
  const auth = header(req, 'authorization');
  if (!auth) {
    throw new GustError('UNAUTHORIZED', KEY_NEEDED);
  }
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  const record = m ? await keys.verifyBearer(m[1]!) : undefined;
  if (!record)
    throw new GustError(
      'UNAUTHORIZED',
      'the key is not valid, revoked or expired: check Authorization: Bearer <key>',
    );
  keys.admit(record);
  return record;
}
