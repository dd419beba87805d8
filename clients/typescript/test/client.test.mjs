// The client against the REAL local API (the `local-api` binary), which
// scripts/test.d/45-typescript-client starts on 127.0.0.1 on a free port with a throwaway server
// key and these seeded users, and stops after:
//   PASSWORD_RESET_URL          the local API's base URL
//   PASSWORD_RESET_SECRET_KEY   the server key (its SHA-256 is the server's SERVER_KEY_SHA256)
// Each test uses its own user, so the per-address caps of one do not shape another.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { PasswordResetClient, PasswordResetError, createClient } from '../dist/index.js';

const baseUrl = process.env.PASSWORD_RESET_URL;
const secretKey = process.env.PASSWORD_RESET_SECRET_KEY;
if (!baseUrl || !secretKey) {
  throw new Error('PASSWORD_RESET_URL and PASSWORD_RESET_SECRET_KEY are set by scripts/test.d/45-typescript-client');
}

/** The users the script seeds, all with this password. */
const OLD_PASSWORD = 'old password 1';
const NEW_PASSWORD = 'a brand new passphrase';

const client = createClient({ baseUrl, secretKey });

async function mailbox() {
  const r = await fetch(`${baseUrl}/_dev/mailbox`, { headers: { accept: 'application/json' } });
  assert.equal(r.status, 200);
  return r.json();
}

async function mailsTo(email) {
  return (await mailbox()).filter((m) => m.to === email);
}

async function signIn(email, password) {
  const r = await fetch(`${baseUrl}/_dev/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return r.status;
}

/** Awaits `promise`, which must reject with a PasswordResetError; returns it. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof PasswordResetError, `a PasswordResetError, got ${e}`);
    return e;
  }
  assert.fail('the call resolved');
}

test('the seed call shape resolves an activation that is the mailed code, and the whole reset works with it', async () => {
  const email = 'ada@example.com';
  // ProductFlame's own line: provider.auth.requestPasswordReset(email, {...}).
  const result = await client.auth.requestPasswordReset(email, {
    maxConcurrentRequestsPerEmail: 3,
    preventEmailSending: false,
  });
  assert.deepEqual(Object.keys(result), ['activation']);
  assert.match(result.activation, /^[A-Za-z0-9_-]{43}$/);
  const mails = await mailsTo(email);
  assert.equal(mails.length, 1, 'one mail');
  assert.ok(mails[0].link.includes(`code=${result.activation}`), 'the link carries the activation');

  const checked = await client.checkCode(result.activation);
  assert.equal(checked.isValid, true);
  assert.equal(typeof checked.expiresAt, 'string');

  await client.resetPassword(result.activation, NEW_PASSWORD);
  assert.equal(await signIn(email, NEW_PASSWORD), 200, 'signs in with the new password');
  assert.equal(await signIn(email, OLD_PASSWORD), 401, 'not with the old one');

  assert.deepEqual(await client.checkCode(result.activation), { isValid: false }, 'spent');
  const again = await rejection(client.resetPassword(result.activation, 'another passphrase'));
  assert.equal(again.code, 'INVALID_CODE');
  assert.equal(again.status, 400);
});

test('an unknown user resolves without an activation, as the seed promises', async () => {
  const result = await client.requestPasswordReset('nobody@example.com');
  assert.deepEqual(result, {});
  assert.equal(result.activation, undefined);
});

test('preventEmailSending returns the activation and sends no mail', async () => {
  const email = 'bea@example.com';
  const result = await client.requestPasswordReset(email, { preventEmailSending: true });
  assert.equal(typeof result.activation, 'string');
  assert.equal((await mailsTo(email)).length, 0, 'no mail');
  assert.equal((await client.checkCode(result.activation)).isValid, true);
});

test('maxConcurrentRequestsPerEmail caps the address and the 429 is a typed error with retryAfter', async () => {
  const email = 'cid@example.com';
  const options = { maxConcurrentRequestsPerEmail: 1, preventEmailSending: true };
  await client.requestPasswordReset(email, options);
  const e = await rejection(client.requestPasswordReset(email, options));
  assert.equal(e.code, 'TOO_MANY_REQUESTS');
  assert.equal(e.status, 429);
  assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter > 0, `retryAfter ${e.retryAfter}`);
  assert.equal(
    e.message,
    'It seems that you send too much requests. Please check your inbox to reset your pasword.',
  );
  // A higher cap on the next call takes a second slot.
  const second = await client.requestPasswordReset(email, { ...options, maxConcurrentRequestsPerEmail: 2 });
  assert.equal(typeof second.activation, 'string');
});

test('a wrong secret key is an UNAUTHORIZED error that does not echo the key', async () => {
  const wrongKey = 'sk_wrong_0123456789';
  const wrong = new PasswordResetClient({ baseUrl, secretKey: wrongKey });
  const e = await rejection(wrong.requestPasswordReset('dee@example.com'));
  assert.equal(e.code, 'UNAUTHORIZED');
  assert.equal(e.status, 401);
  assert.equal(e.retryAfter, undefined);
  assert.ok(!e.message.includes(wrongKey) && !JSON.stringify(e).includes(wrongKey));
  assert.equal((await mailsTo('dee@example.com')).length, 0, 'nothing mailed');
});

test('without a secret key requestPasswordReset refuses before calling', async () => {
  const keyless = new PasswordResetClient({
    baseUrl,
    fetch: () => assert.fail('no call may be made'),
  });
  const e = await rejection(keyless.requestPasswordReset('dee@example.com'));
  assert.equal(e.code, 'MISSING_SECRET_KEY');
});

test('invalid params are the seed BAD_REQUEST error', async () => {
  for (const [email, options] of [
    ['not an address', {}],
    ['dee@example.com', { maxConcurrentRequestsPerEmail: 0 }],
    ['dee@example.com', { maxConcurrentRequestsPerEmail: 1.5 }],
  ]) {
    const e = await rejection(client.requestPasswordReset(email, options));
    assert.equal(e.code, 'BAD_REQUEST', `${email} ${JSON.stringify(options)}`);
    assert.equal(e.status, 400);
    assert.equal(e.message, 'One or more body params are invalid.');
  }
});

test('a weak password is refused with fieldErrors and the code stays valid', async () => {
  const { activation } = await client.requestPasswordReset('eve@example.com', {
    preventEmailSending: true,
  });
  const e = await rejection(client.resetPassword(activation, 'short'));
  assert.equal(e.code, 'VALIDATION_FAILED');
  assert.equal(e.status, 400);
  assert.equal(typeof e.fieldErrors?.password, 'string');
  assert.ok(!e.message.includes(activation), 'no code in the error');
  assert.equal((await client.checkCode(activation)).isValid, true);
});

test('checkCode of a string that is no code says invalid', async () => {
  assert.deepEqual(await client.checkCode('not-a-code'), { isValid: false });
});

test('an unreachable service is a NETWORK_ERROR with status 0', async () => {
  // A port that was free a moment ago and is closed now.
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const dead = new PasswordResetClient({ baseUrl: `http://127.0.0.1:${port}`, secretKey });
  const e = await rejection(dead.checkCode('x'));
  assert.equal(e.code, 'NETWORK_ERROR');
  assert.equal(e.status, 0);
});
