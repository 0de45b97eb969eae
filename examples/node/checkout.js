// A storefront's checkout calling the coupon extension from Node.js with
// node-postgres (npm "pg").  It is also a test: scripts/test.sh runs it
// against the throwaway cluster and counts its TAP lines.
//
// Connection: the usual libpq variables (PGHOST, PGPORT, PGDATABASE); the
// administrator connects as PGUSER, the storefront as the role in SHOP_ROLE
// (a login role granted coupon_shop).
//
//   node checkout.js

'use strict';

const { Client } = require('pg');

let n = 0;
let failed = 0;
function ok(cond, what, detail) {
  n += 1;
  if (!cond) failed += 1;
  console.log(`${cond ? '' : 'not '}ok ${n} - ${what}`);
  if (!cond && detail !== undefined) console.log(`# ${JSON.stringify(detail)}`);
}

// A refusal carries its own SQLSTATE: branch on err.code, not on the text.
const REFUSALS = {
  CP201: 'not valid', CP202: 'blocked', CP203: 'not valid yet', CP204: 'expired',
  CP205: 'used up', CP206: 'already used by you', CP207: 'order too small',
  CP208: 'log in first', CP209: 'nothing eligible',
};

async function main() {
  const admin = new Client();                                  // PGUSER: an administrator
  const shop = new Client({ user: process.env.SHOP_ROLE });    // the storefront
  await admin.connect();
  await shop.connect();

  // --- the back office creates a coupon: 20.00 off, 2 uses in all ----------
  const code = (await admin.query(
    `SELECT coupon.create_coupon('fixed', 20, usage_limit => 2, once_per_customer => false,
                                 description => 'node example')::text AS code`)).rows[0].code;
  ok(/^[0-9A-Z]{11}$/.test(code), 'the back office creates a coupon with a generated code', code);

  // --- checkout: the customer types the code in lower case with a hyphen ---
  const typed = code.toLowerCase().slice(0, 5) + '-' + code.toLowerCase().slice(5);
  const order = {
    lines: [
      { sku: 'SW-1', name: 'Swimsuit', category: 'swimwear', price: 189.99, quantity: 1 },
      { sku: 'TW-3', name: 'Towel', category: 'home', price: 59.99, quantity: 3 },
      { sku: 'SET', name: 'Summer set', price: 99.00, quantity: 1, bundle: true },
    ],
    delivery_fee: 15.0,
  };
  const quote = (await shop.query('SELECT coupon.quote($1, $2, $3) AS q',
                                  [typed, 'customer-7', order])).rows[0].q;
  ok(quote.applies === true && quote.discount === 20.0,
     'a quote of the typed code takes off exactly 20.00', quote);
  ok(quote.lines[0].share === 10.27 && quote.lines[1].share === 9.73 && quote.lines[2].share === 0,
     'spread over the lines as 10.27 and 9.73; the bundle gets nothing', quote.lines);
  ok(quote.total === 463.96, 'the total: 369.96 + 99.00 bundle - 20.00 + 15.00 delivery = 463.96', quote.total);

  // --- hold the use while the customer pays, then redeem -------------------
  const hold = (await shop.query('SELECT coupon.hold($1, $2, $3, $4, 15) AS h',
                                 [code, 'customer-7', 'ORDER-1001', order])).rows[0].h;
  ok(typeof hold.hold_expires_at === 'string', 'the use is held for 15 minutes', hold.hold_expires_at);
  const redeemed = (await shop.query('SELECT coupon.redeem($1, $2, $3, $4) AS r',
                                     [code, 'customer-7', 'ORDER-1001', order])).rows[0].r;
  ok(Number.isInteger(redeemed.redemption_id), 'payment done: the redemption is recorded', redeemed);

  // --- the second use, then the limit --------------------------------------
  await shop.query('SELECT coupon.redeem($1, NULL, $2, $3)', [code, 'ORDER-1002', order]);
  let refusal = null;
  try {
    await shop.query('SELECT coupon.redeem($1, NULL, $2, $3)', [code, 'ORDER-1003', order]);
  } catch (err) {
    refusal = err;
  }
  ok(refusal && refusal.code === 'CP205', 'the third order is refused with SQLSTATE CP205',
     refusal && { code: refusal.code, message: refusal.message });
  ok(refusal && REFUSALS[refusal.code] === 'used up', `the storefront shows: "${refusal && REFUSALS[refusal.code]}"`);

  // --- a cancelled order gives its use back, exactly once ------------------
  const r1 = (await shop.query('SELECT coupon.release($1) AS n', ['ORDER-1001'])).rows[0].n;
  const r2 = (await shop.query('SELECT coupon.release($1) AS n', ['ORDER-1001'])).rows[0].n;
  ok(r1 === 1 && r2 === 0, 'ORDER-1001 is cancelled: its use comes back once', [r1, r2]);
  const again = (await shop.query('SELECT coupon.redeem($1, NULL, $2, $3) AS r',
                                  [code, 'ORDER-1003', order])).rows[0].r;
  ok(again.discount === 20.0, 'so ORDER-1003 gets the coupon after all');

  // --- the storefront may not change coupons -------------------------------
  let denied = null;
  try {
    await shop.query("UPDATE coupon.shop_coupon SET value = 99 WHERE code = $1", [code]);
  } catch (err) {
    denied = err;
  }
  ok(denied && denied.code === '42501', 'the storefront role cannot edit coupons (42501)', denied && denied.code);

  // --- sending: the mail service listens on coupon_mail --------------------
  await shop.query('SELECT coupon.subscribe($1)', ['customer-7']);
  const mail = new Promise((resolve) => admin.once('notification', resolve));
  await admin.query('LISTEN coupon_mail');
  const sendingId = (await admin.query('SELECT coupon.send($1) AS id', [code])).rows[0].id;
  const note = await Promise.race([mail, new Promise((r) => setTimeout(() => r(null), 5000))]);
  const payload = note ? JSON.parse(note.payload) : null;
  ok(payload && payload.code === code && payload.audience === 'subscribers' && payload.recipients >= 1
     && String(payload.sending_id) === String(sendingId),
     'the mail service is notified with a JSON payload', payload);
  const recipients = (await admin.query('SELECT external_id FROM coupon.sending_recipients($1)', [sendingId]))
    .rows.map((r) => r.external_id);
  ok(recipients.includes('customer-7'), 'and reads the recipients', recipients);

  // --- what the order stored, for a later partial refund -------------------
  const stored = (await admin.query(
    `SELECT line_no, share::float8 AS share FROM coupon.redemption_line
     WHERE code = $1 AND redemption_id = $2 ORDER BY line_no`, [code, redeemed.redemption_id])).rows;
  ok(stored.length === 3 && stored[0].share === 10.27 && stored[1].share === 9.73,
     "each line's share is stored with the redemption", stored);

  await shop.end();
  await admin.end();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`not ok ${n + 1} - the example failed: ${err.code || ''} ${err.message}`);
  console.log(`1..${n + 1}`);
  process.exit(1);
});
