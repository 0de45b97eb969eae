-- coupon 0.4.0 -> 0.4.1: no SQL object changes.  What is new is in the
-- shared library: the usual activation written directly from C (setting
-- coupon.direct_writes), and 25006 for an activation in a read-only
-- transaction.  This script only takes the extension to version 0.4.1.

\echo Use "ALTER EXTENSION coupon UPDATE TO '0.4.1'" to load this file. \quit

COMMENT ON FUNCTION coupon.activate(coupon.code, text) IS
    'a partner activates a customer''s voucher with the code and the secret printed on it; every refusal has its own SQLSTATE';
