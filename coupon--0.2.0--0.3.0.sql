-- coupon 0.2.0 -> 0.3.0: shop discount coupons.
-- Coupons with rules (kind, audience, limits, validity, minimum order,
-- categories), exact allocation of a discount over order lines, quotes,
-- holds, redemptions and releases, sending with NOTIFY, editability.

\echo Use "ALTER EXTENSION coupon UPDATE TO '0.3.0'" to load this file. \quit

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coupon_shop') THEN
    CREATE ROLE coupon_shop NOLOGIN;
  END IF;
END $$;

-- ---------------------------------------------------------------------
-- Allocation
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.allocate(amount numeric, weights numeric[], caps numeric[] DEFAULT NULL,
                                minor_unit numeric DEFAULT 0.01)
    RETURNS numeric[]
    AS 'MODULE_PATHNAME', 'allocate_fn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coupon.allocate(numeric, numeric[], numeric[], numeric) IS
    'spreads amount over lines in proportion to weights by the largest-remainder method in integer minor units: the shares add up exactly to the amount (at most the sum of the caps), none above its cap';

-- ---------------------------------------------------------------------
-- Coupons (big; distributed by code)
-- ---------------------------------------------------------------------

CREATE TYPE coupon.coupon_kind AS ENUM ('percent', 'fixed', 'free_delivery');
COMMENT ON TYPE coupon.coupon_kind IS
    'percent of the eligible lines (optionally capped), a fixed value spread over them, or free delivery (optionally free payment too)';
CREATE TYPE coupon.coupon_audience AS ENUM
    ('everyone', 'logged_in', 'new_subscribers', 'selected_subscribers', 'selected_customers');
COMMENT ON TYPE coupon.coupon_audience IS
    'who may use a coupon: everyone (guests too), logged-in customers, new newsletter subscribers (sent on sign-up), selected subscribers, selected customers';
CREATE TYPE coupon.coupon_status AS ENUM ('active', 'blocked');
COMMENT ON TYPE coupon.coupon_status IS 'active coupons apply; blocked ones do not';

CREATE TABLE coupon.shop_coupon (
    code               coupon.code PRIMARY KEY DEFAULT coupon.generate_code(),
    kind               coupon.coupon_kind NOT NULL,
    value              numeric NOT NULL DEFAULT 0,
    max_discount       numeric CHECK (max_discount > 0),
    free_payment       boolean NOT NULL DEFAULT false,
    currency           char(3) NOT NULL DEFAULT 'PLN' CHECK (currency ~ '^[A-Z]{3}$'),
    minor_unit         numeric NOT NULL DEFAULT 0.01 CHECK (minor_unit IN (1, 0.1, 0.01, 0.001)),
    audience           coupon.coupon_audience NOT NULL DEFAULT 'everyone',
    usage_limit        integer CHECK (usage_limit >= 0),
    used_count         integer NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    held_count         integer NOT NULL DEFAULT 0 CHECK (held_count >= 0),
    once_per_customer  boolean NOT NULL DEFAULT false,
    valid_from         date,
    valid_until        date,
    time_zone          text NOT NULL DEFAULT 'UTC' CHECK (coupon.is_time_zone(time_zone)),
    min_order          numeric NOT NULL DEFAULT 0 CHECK (min_order >= 0),
    categories         text[],
    order_floor        numeric CHECK (order_floor >= 0),
    status             coupon.coupon_status NOT NULL DEFAULT 'active',
    description        text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    first_used_at      timestamptz,
    CHECK (kind <> 'percent' OR (value > 0 AND value <= 100)),
    CHECK (kind <> 'fixed' OR value > 0),
    CHECK (kind = 'free_delivery' OR NOT free_payment),
    CHECK (valid_until >= valid_from)
);
COMMENT ON TABLE coupon.shop_coupon IS
    'a discount code a customer types at checkout, with its rules: kind and value, audience, usage limit, once per customer, validity (calendar dates in time_zone), minimum order, categories; fully editable until sent or first used, then only its usage limit';
COMMENT ON COLUMN coupon.shop_coupon.used_count IS
    'redemptions not released, kept exactly for coupons with a usage limit (recounted when a limit is set)';
COMMENT ON COLUMN coupon.shop_coupon.held_count IS
    'holds of checkouts in progress, kept exactly for coupons with a usage limit';
COMMENT ON COLUMN coupon.shop_coupon.order_floor IS
    'what the eligible lines cost at least when the coupon is worth more; NULL means one minor unit (0.01, as in the seed)';
CREATE INDEX shop_coupon_newsletter_idx ON coupon.shop_coupon (code) WHERE audience = 'new_subscribers';

CREATE TABLE coupon.subscriber (
    customer_id      bigint PRIMARY KEY REFERENCES coupon.customer,
    subscribed_at    timestamptz NOT NULL DEFAULT now(),
    unsubscribed_at  timestamptz
);
COMMENT ON TABLE coupon.subscriber IS 'newsletter subscribers (customers), current when unsubscribed_at is null';

CREATE TABLE coupon.coupon_target (
    code         coupon.code NOT NULL REFERENCES coupon.shop_coupon ON UPDATE CASCADE ON DELETE CASCADE,
    customer_id  bigint NOT NULL REFERENCES coupon.customer,
    PRIMARY KEY (code, customer_id)
);
COMMENT ON TABLE coupon.coupon_target IS 'the customers a coupon for selected customers or selected subscribers is meant for';

CREATE SEQUENCE coupon.sending_id_seq;
COMMENT ON SEQUENCE coupon.sending_id_seq IS 'sending ids';
CREATE TABLE coupon.sending (
    code        coupon.code NOT NULL,
    sending_id  bigint NOT NULL DEFAULT nextval('coupon.sending_id_seq'),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    sent_by     name NOT NULL,
    audience    text NOT NULL CHECK (audience IN ('subscribers', 'customers', 'new_subscriber')),
    recipients  integer NOT NULL,
    PRIMARY KEY (code, sending_id)
);
COMMENT ON TABLE coupon.sending IS
    'each time a coupon was sent: to all subscribers, to chosen customers, or to a new subscriber on sign-up; the mail service is told by NOTIFY coupon_mail';

CREATE TABLE coupon.sending_recipient (
    code         coupon.code NOT NULL,
    sending_id   bigint NOT NULL,
    customer_id  bigint NOT NULL,
    PRIMARY KEY (code, sending_id, customer_id),
    FOREIGN KEY (code, sending_id) REFERENCES coupon.sending
);
CREATE INDEX sending_recipient_customer_idx ON coupon.sending_recipient (code, customer_id);
CREATE INDEX sending_recipient_sending_idx ON coupon.sending_recipient (sending_id);
COMMENT ON TABLE coupon.sending_recipient IS 'who received which sending';

CREATE TABLE coupon.coupon_hold (
    code         coupon.code NOT NULL,
    order_ref    text NOT NULL CHECK (order_ref <> ''),
    customer_id  bigint,
    held_at      timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (code, order_ref)
);
CREATE INDEX coupon_hold_expiry_idx ON coupon.coupon_hold (expires_at);
CREATE INDEX coupon_hold_order_idx ON coupon.coupon_hold (order_ref);
COMMENT ON TABLE coupon.coupon_hold IS
    'a checkout in progress holding one use of a coupon: counts toward the limits until redeemed, released or expired';

CREATE TABLE coupon.customer_use (
    code         coupon.code NOT NULL,
    customer_id  bigint NOT NULL,
    order_ref    text NOT NULL,
    PRIMARY KEY (code, customer_id)
);
COMMENT ON TABLE coupon.customer_use IS
    'the one use (held or redeemed, not released) of a once-per-customer coupon by a customer; its primary key makes concurrent second uses wait and fail';

CREATE SEQUENCE coupon.redemption_id_seq;
COMMENT ON SEQUENCE coupon.redemption_id_seq IS 'redemption ids';
CREATE TABLE coupon.redemption (
    code               coupon.code NOT NULL,
    redemption_id      bigint NOT NULL DEFAULT nextval('coupon.redemption_id_seq'),
    order_ref          text NOT NULL,
    customer_id        bigint,
    redeemed_at        timestamptz NOT NULL DEFAULT now(),
    currency           char(3) NOT NULL,
    subtotal           numeric NOT NULL,
    eligible_subtotal  numeric NOT NULL,
    discount           numeric NOT NULL,
    delivery_fee       numeric NOT NULL,
    delivery_discount  numeric NOT NULL,
    payment_fee        numeric NOT NULL,
    payment_discount   numeric NOT NULL,
    total              numeric NOT NULL,
    released_at        timestamptz,
    released_by        name,
    PRIMARY KEY (code, redemption_id),
    UNIQUE (code, order_ref)
);
CREATE INDEX redemption_order_idx ON coupon.redemption (order_ref);
CREATE INDEX redemption_at_idx ON coupon.redemption (redeemed_at);
COMMENT ON TABLE coupon.redemption IS
    'append-only: one row per order that used a coupon, with the totals computed; a release only records when the order gave its use back';

CREATE TABLE coupon.redemption_line (
    code           coupon.code NOT NULL,
    redemption_id  bigint NOT NULL,
    line_no        integer NOT NULL,
    sku            text,
    name           text,
    category       text,
    unit_price     numeric NOT NULL,
    quantity       integer NOT NULL,
    amount         numeric NOT NULL,
    eligible       boolean NOT NULL,
    excluded       text,
    share          numeric NOT NULL,
    net            numeric NOT NULL,
    PRIMARY KEY (code, redemption_id, line_no),
    FOREIGN KEY (code, redemption_id) REFERENCES coupon.redemption
);
COMMENT ON TABLE coupon.redemption_line IS
    'append-only: each order line of a redemption with its stored share of the discount, so that a partial refund is computed from what was stored';

SELECT pg_catalog.pg_extension_config_dump('coupon.shop_coupon', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.subscriber', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.coupon_target', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.sending', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.sending_recipient', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.coupon_hold', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.customer_use', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.redemption', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.redemption_line', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.sending_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.redemption_id_seq', '');

-- ---------------------------------------------------------------------
-- Guards: editability, append-only redemptions
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.guard_coupon() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shop_guard_coupon' LANGUAGE C;
COMMENT ON FUNCTION coupon.guard_coupon() IS
    'trigger: the rules of a coupon make sense (amounts in whole minor units, ...); a coupon sent or used keeps its rules (only its usage limit and status change, the limit never below its uses) and is never deleted; one with checkouts in progress keeps its code';
CREATE TRIGGER shop_coupon_guard BEFORE INSERT OR UPDATE OR DELETE ON coupon.shop_coupon
    FOR EACH ROW EXECUTE FUNCTION coupon.guard_coupon();

CREATE FUNCTION coupon.guard_redemption() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'redemption' THEN
    IF OLD.released_at IS NULL AND NEW.released_at IS NOT NULL
       AND (OLD.code, OLD.redemption_id, OLD.order_ref, OLD.customer_id, OLD.redeemed_at, OLD.currency,
            OLD.subtotal, OLD.eligible_subtotal, OLD.discount, OLD.delivery_fee, OLD.delivery_discount,
            OLD.payment_fee, OLD.payment_discount, OLD.total)
           IS NOT DISTINCT FROM
           (NEW.code, NEW.redemption_id, NEW.order_ref, NEW.customer_id, NEW.redeemed_at, NEW.currency,
            NEW.subtotal, NEW.eligible_subtotal, NEW.discount, NEW.delivery_fee, NEW.delivery_discount,
            NEW.payment_fee, NEW.payment_discount, NEW.total) THEN
      RETURN NEW;                        -- the one change: recording the release
    END IF;
  END IF;
  RAISE EXCEPTION 'redemptions are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'CP290',
          HINT = 'A cancelled order gives its use back with coupon.release(); nothing else changes a redemption.';
END $$;
COMMENT ON FUNCTION coupon.guard_redemption() IS
    'trigger: redemptions and their lines are never edited or deleted; the only change is recording a release once';
CREATE TRIGGER redemption_append_only BEFORE UPDATE OR DELETE ON coupon.redemption
    FOR EACH ROW EXECUTE FUNCTION coupon.guard_redemption();
CREATE TRIGGER redemption_no_truncate BEFORE TRUNCATE ON coupon.redemption
    FOR EACH STATEMENT EXECUTE FUNCTION coupon.guard_redemption();
CREATE TRIGGER redemption_line_append_only BEFORE UPDATE OR DELETE ON coupon.redemption_line
    FOR EACH ROW EXECUTE FUNCTION coupon.guard_redemption();
CREATE TRIGGER redemption_line_no_truncate BEFORE TRUNCATE ON coupon.redemption_line
    FOR EACH STATEMENT EXECUTE FUNCTION coupon.guard_redemption();

-- ---------------------------------------------------------------------
-- Quote, hold, redeem, release (C)
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.quote(code coupon.code, customer text, "order" jsonb, order_ref text DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shop_quote' LANGUAGE C STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.quote(coupon.code, text, jsonb, text) IS
    'what the coupon would do to this order, recording nothing: the recalculated order (per line: price, quantity, share of the discount, net; delivery and payment fees; total) or why it does not apply; with order_ref, that order''s own hold does not count against it';

CREATE FUNCTION coupon.hold(code coupon.code, customer text, order_ref text, "order" jsonb,
                            minutes integer DEFAULT 15) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shop_hold' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.hold(coupon.code, text, text, jsonb, integer) IS
    'holds one use of the coupon for a checkout in progress (counting toward the limits) for minutes; again for the same order it only extends the hold';

CREATE FUNCTION coupon.redeem(code coupon.code, customer text, order_ref text, "order" jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shop_redeem' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.redeem(coupon.code, text, text, jsonb) IS
    'applies the coupon to the order and records it: the redemption and each line''s share; the order''s own hold becomes the use';

CREATE FUNCTION coupon.release(order_ref text, code coupon.code DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'shop_release' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.release(text, coupon.code) IS
    'a cancelled order gives its coupon uses (redeemed or held) back, exactly once; returns how many were given back (0 the second time)';

CREATE FUNCTION coupon.expire_holds() RETURNS bigint
    AS 'MODULE_PATHNAME', 'shop_expire_holds' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.expire_holds() IS
    'drops holds whose time is up, giving their uses back; returns how many (also run by coupon.expire_due)';

-- ---------------------------------------------------------------------
-- Administration (thin SQL)
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.create_coupon(
        kind coupon.coupon_kind, value numeric DEFAULT 0,
        code coupon.code DEFAULT NULL, pattern text DEFAULT '##########',
        audience coupon.coupon_audience DEFAULT 'everyone',
        usage_limit integer DEFAULT NULL, once_per_customer boolean DEFAULT false,
        valid_from date DEFAULT NULL, valid_until date DEFAULT NULL, time_zone text DEFAULT 'UTC',
        min_order numeric DEFAULT 0, categories text[] DEFAULT NULL,
        max_discount numeric DEFAULT NULL, free_payment boolean DEFAULT false,
        currency char(3) DEFAULT 'PLN', description text DEFAULT NULL,
        order_floor numeric DEFAULT NULL, minor_unit numeric DEFAULT 0.01)
    RETURNS coupon.code
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c coupon.code := create_coupon.code;
BEGIN
  IF NOT coupon.is_time_zone(create_coupon.time_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', create_coupon.time_zone
      USING ERRCODE = '22023', HINT = 'Use a name such as Europe/Warsaw (see pg_timezone_names).';
  END IF;
  IF create_coupon.kind = 'percent' AND NOT (create_coupon.value > 0 AND create_coupon.value <= 100) THEN
    RAISE EXCEPTION 'a percentage coupon needs a value above 0 and at most 100, not %', create_coupon.value
      USING ERRCODE = '22023';
  END IF;
  IF create_coupon.kind = 'fixed' AND NOT create_coupon.value > 0 THEN
    RAISE EXCEPTION 'a fixed-value coupon needs a value above 0, not %', create_coupon.value
      USING ERRCODE = '22023';
  END IF;
  IF create_coupon.usage_limit < 0 THEN
    RAISE EXCEPTION 'a usage limit is 0 or more, not %', create_coupon.usage_limit USING ERRCODE = '22023';
  END IF;
  IF create_coupon.minor_unit IS NULL OR create_coupon.minor_unit NOT IN (1, 0.1, 0.01, 0.001) THEN
    RAISE EXCEPTION 'the minor unit is 1, 0.1, 0.01 or 0.001, not %', coalesce(create_coupon.minor_unit::text, 'null')
      USING ERRCODE = '22023';
  END IF;
  IF create_coupon.valid_until < create_coupon.valid_from THEN
    RAISE EXCEPTION 'the validity ends (%) before it starts (%)',
      to_char(create_coupon.valid_until, 'YYYY-MM-DD'), to_char(create_coupon.valid_from, 'YYYY-MM-DD')
      USING ERRCODE = '22023';
  END IF;
  IF c IS NULL THEN
    c := coupon.generate_code(create_coupon.pattern);
  END IF;
  INSERT INTO coupon.shop_coupon AS s (code, kind, value, audience, usage_limit, once_per_customer,
      valid_from, valid_until, time_zone, min_order, categories, max_discount, free_payment,
      currency, description, order_floor, minor_unit)
  VALUES (c, create_coupon.kind, create_coupon.value, create_coupon.audience, create_coupon.usage_limit,
      create_coupon.once_per_customer, create_coupon.valid_from, create_coupon.valid_until,
      create_coupon.time_zone, create_coupon.min_order, create_coupon.categories,
      create_coupon.max_discount, create_coupon.free_payment, create_coupon.currency,
      create_coupon.description, create_coupon.order_floor, create_coupon.minor_unit);
  RETURN c;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'a coupon with code % already exists', c USING ERRCODE = 'CP213';
END $$;
COMMENT ON FUNCTION coupon.create_coupon(coupon.coupon_kind, numeric, coupon.code, text, coupon.coupon_audience, integer, boolean, date, date, text, numeric, text[], numeric, boolean, char, text, numeric, numeric) IS
    'creates a coupon; its code is generated from pattern unless given; returns the code';

CREATE FUNCTION coupon.change_code(code coupon.code, new_code coupon.code) RETURNS coupon.code
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM coupon.shop_coupon s WHERE s.code = change_code.new_code) THEN
    RAISE EXCEPTION 'a coupon with code % already exists', change_code.new_code USING ERRCODE = 'CP213';
  END IF;
  UPDATE coupon.shop_coupon s SET code = change_code.new_code, updated_at = now()
  WHERE s.code = change_code.code;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'coupon % does not exist', change_code.code USING ERRCODE = 'CP214';
  END IF;
  RETURN change_code.new_code;
END $$;
COMMENT ON FUNCTION coupon.change_code(coupon.code, coupon.code) IS
    'the administrator changes the code of a coupon not yet sent or used';

CREATE FUNCTION coupon.set_usage_limit(code coupon.code, usage_limit integer) RETURNS coupon.shop_coupon
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r coupon.shop_coupon;
BEGIN
  IF set_usage_limit.usage_limit < 0 THEN
    RAISE EXCEPTION 'a usage limit is 0 or more, not %', set_usage_limit.usage_limit USING ERRCODE = '22023';
  END IF;
  -- waits for redemptions in progress of the coupon, then recounts
  PERFORM pg_catalog.pg_advisory_xact_lock(1129271888, coupon.code_hash(set_usage_limit.code));
  SELECT * INTO r FROM coupon.shop_coupon s WHERE s.code = set_usage_limit.code FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'coupon % does not exist', set_usage_limit.code USING ERRCODE = 'CP214';
  END IF;
  PERFORM coupon.expire_holds();
  UPDATE coupon.shop_coupon s
  SET used_count = (SELECT count(*) FROM coupon.redemption d
                    WHERE d.code = s.code AND d.released_at IS NULL),
      held_count = (SELECT count(*) FROM coupon.coupon_hold h WHERE h.code = s.code),
      usage_limit = set_usage_limit.usage_limit, updated_at = now()
  WHERE s.code = set_usage_limit.code
  RETURNING s.* INTO r;
  RETURN r;
END $$;
COMMENT ON FUNCTION coupon.set_usage_limit(coupon.code, integer) IS
    'sets (or with NULL lifts) the usage limit of a coupon, also after it was sent or used, never below the uses so far (CP211)';

CREATE FUNCTION coupon.set_coupon_status(codes coupon.code[], status coupon.coupon_status) RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH u AS (
    UPDATE coupon.shop_coupon s SET status = set_coupon_status.status, updated_at = now()
    WHERE s.code = ANY (set_coupon_status.codes) AND s.status <> set_coupon_status.status
    RETURNING 1)
  SELECT count(*)::integer FROM u
$$;
COMMENT ON FUNCTION coupon.set_coupon_status(coupon.code[], coupon.coupon_status) IS
    'activates or blocks many coupons at once; returns how many changed';

CREATE FUNCTION coupon.add_targets(code coupon.code, customers text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM coupon.shop_coupon s WHERE s.code = add_targets.code) THEN
    RAISE EXCEPTION 'coupon % does not exist', add_targets.code USING ERRCODE = 'CP214';
  END IF;
  IF add_targets.customers IS NULL OR EXISTS (SELECT 1 FROM unnest(add_targets.customers) c WHERE coalesce(c, '') = '') THEN
    RAISE EXCEPTION 'customer ids must not be null or empty' USING ERRCODE = '22023';
  END IF;
  INSERT INTO coupon.coupon_target (code, customer_id)
  SELECT add_targets.code, coupon.upsert_customer(c) FROM unnest(add_targets.customers) AS c
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION coupon.add_targets(coupon.code, text[]) IS
    'adds customers (application ids) to the audience of a coupon for selected customers or subscribers; returns how many were new';

CREATE FUNCTION coupon.send(code coupon.code, customers text[] DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c coupon.shop_coupon;
  id bigint := nextval('coupon.sending_id_seq');
  n integer;
  who text := CASE WHEN send.customers IS NULL THEN 'subscribers' ELSE 'customers' END;
BEGIN
  SELECT * INTO c FROM coupon.shop_coupon s WHERE s.code = send.code;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'coupon % does not exist', send.code USING ERRCODE = 'CP214';
  END IF;
  IF c.status <> 'active' THEN
    RAISE EXCEPTION 'coupon % is blocked and cannot be sent', send.code USING ERRCODE = 'CP202';
  END IF;
  IF c.valid_until IS NOT NULL AND now() >= ((c.valid_until + 1)::timestamp AT TIME ZONE c.time_zone) THEN
    RAISE EXCEPTION 'coupon % expired after % and cannot be sent', send.code, to_char(c.valid_until, 'YYYY-MM-DD')
      USING ERRCODE = 'CP204';
  END IF;
  IF send.customers IS NOT NULL AND (cardinality(send.customers) = 0
     OR EXISTS (SELECT 1 FROM unnest(send.customers) x WHERE coalesce(x, '') = '')) THEN
    RAISE EXCEPTION 'a sending to chosen customers needs their ids (none may be null or empty)'
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO coupon.sending (code, sending_id, sent_by, audience, recipients)
  VALUES (send.code, id, coupon.calling_role(), who, 0);
  IF send.customers IS NULL THEN
    INSERT INTO coupon.sending_recipient (code, sending_id, customer_id)
    SELECT send.code, id, b.customer_id FROM coupon.subscriber b WHERE b.unsubscribed_at IS NULL;
  ELSE
    INSERT INTO coupon.sending_recipient (code, sending_id, customer_id)
    SELECT DISTINCT send.code, id, coupon.upsert_customer(x) FROM unnest(send.customers) AS x;
    -- sending to chosen people makes them the audience of a selected coupon
    IF c.audience IN ('selected_customers', 'selected_subscribers') THEN
      INSERT INTO coupon.coupon_target (code, customer_id)
      SELECT send.code, r.customer_id FROM coupon.sending_recipient r
      WHERE r.code = send.code AND r.sending_id = id
      ON CONFLICT DO NOTHING;
    END IF;
  END IF;
  SELECT count(*) INTO n FROM coupon.sending_recipient r WHERE r.code = send.code AND r.sending_id = id;
  UPDATE coupon.sending s SET recipients = n WHERE s.code = send.code AND s.sending_id = id;
  UPDATE coupon.shop_coupon s SET sent_at = coalesce(s.sent_at, now()) WHERE s.code = send.code;
  PERFORM pg_catalog.pg_notify('coupon_mail', pg_catalog.json_build_object(
    'sending_id', id, 'code', send.code::text, 'audience', who, 'recipients', n)::text);
  RETURN id;
END $$;
COMMENT ON FUNCTION coupon.send(coupon.code, text[]) IS
    'records that a coupon is sent to all newsletter subscribers (customers NULL) or to chosen customers, and tells the mail service: NOTIFY coupon_mail with {"sending_id", "code", "audience", "recipients"}; returns the sending id';

CREATE FUNCTION coupon.sending_recipients(sending_id bigint)
    RETURNS TABLE (code coupon.code, external_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT r.code, c.external_id FROM coupon.sending_recipient r
  JOIN coupon.customer c USING (customer_id)
  WHERE r.sending_id = sending_recipients.sending_id ORDER BY c.external_id
$$;
COMMENT ON FUNCTION coupon.sending_recipients(bigint) IS
    'the recipients of a sending (application ids), for the mail service after a NOTIFY';

CREATE FUNCTION coupon.subscribe(customer text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  cid bigint;
  c record;
  n integer := 0;
  id bigint;
BEGIN
  IF coalesce(subscribe.customer, '') = '' THEN
    RAISE EXCEPTION 'a customer id must not be null or empty' USING ERRCODE = '22023';
  END IF;
  cid := coupon.upsert_customer(subscribe.customer);
  INSERT INTO coupon.subscriber AS b (customer_id) VALUES (cid)
  ON CONFLICT (customer_id) DO UPDATE
    SET subscribed_at = CASE WHEN b.unsubscribed_at IS NULL THEN b.subscribed_at ELSE now() END,
        unsubscribed_at = NULL;
  -- new subscribers receive every active newsletter coupon, once
  FOR c IN
    SELECT s.code FROM coupon.shop_coupon s
    WHERE s.audience = 'new_subscribers' AND s.status = 'active'
      AND (s.valid_until IS NULL OR now() < ((s.valid_until + 1)::timestamp AT TIME ZONE s.time_zone))
      AND NOT EXISTS (SELECT 1 FROM coupon.sending_recipient r WHERE r.code = s.code AND r.customer_id = cid)
    ORDER BY s.code
  LOOP
    id := nextval('coupon.sending_id_seq');
    INSERT INTO coupon.sending (code, sending_id, sent_by, audience, recipients)
    VALUES (c.code, id, coupon.calling_role(), 'new_subscriber', 1);
    INSERT INTO coupon.sending_recipient (code, sending_id, customer_id) VALUES (c.code, id, cid);
    UPDATE coupon.shop_coupon s SET sent_at = coalesce(s.sent_at, now()) WHERE s.code = c.code;
    PERFORM pg_catalog.pg_notify('coupon_mail', pg_catalog.json_build_object(
      'sending_id', id, 'code', c.code::text, 'audience', 'new_subscriber', 'recipients', 1)::text);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION coupon.subscribe(text) IS
    'a customer subscribes to the newsletter and is sent every active coupon for new subscribers at once; returns how many';

CREATE FUNCTION coupon.unsubscribe(customer text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH u AS (
    UPDATE coupon.subscriber b SET unsubscribed_at = now()
    FROM coupon.customer c
    WHERE c.external_id = unsubscribe.customer AND b.customer_id = c.customer_id AND b.unsubscribed_at IS NULL
    RETURNING 1)
  SELECT count(*) > 0 FROM u
$$;
COMMENT ON FUNCTION coupon.unsubscribe(text) IS 'a customer leaves the newsletter; false when not subscribed';

CREATE FUNCTION coupon.line_discount(code coupon.code, order_ref text, line_no integer, units integer)
    RETURNS numeric
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  l record;
BEGIN
  IF line_discount.code IS NULL OR line_discount.order_ref IS NULL OR line_discount.line_no IS NULL
     OR line_discount.units IS NULL THEN
    RAISE EXCEPTION 'code, order reference, line and units must not be null' USING ERRCODE = '22004';
  END IF;
  SELECT rl.share, rl.quantity, c.minor_unit, r.released_at INTO l
  FROM coupon.redemption r
  JOIN coupon.redemption_line rl ON rl.code = r.code AND rl.redemption_id = r.redemption_id
  JOIN coupon.shop_coupon c ON c.code = r.code
  WHERE r.code = line_discount.code AND r.order_ref = line_discount.order_ref
    AND rl.line_no = line_discount.line_no;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'order % has no line % redeemed with coupon %', line_discount.order_ref,
      line_discount.line_no, line_discount.code USING ERRCODE = 'CP215';
  END IF;
  IF l.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'order % gave coupon % back: nothing of it is left to refund', line_discount.order_ref,
      line_discount.code USING ERRCODE = 'CP215';
  END IF;
  IF line_discount.units NOT BETWEEN 0 AND l.quantity THEN
    RAISE EXCEPTION 'line % has % units, not %', line_discount.line_no, l.quantity, line_discount.units
      USING ERRCODE = '22023';
  END IF;
  -- the first units of a line carry this much of its stored share; the
  -- differences between successive calls add up exactly to the share
  RETURN round(l.share * line_discount.units / l.quantity / l.minor_unit) * l.minor_unit;
END $$;
COMMENT ON FUNCTION coupon.line_discount(coupon.code, text, integer, integer) IS
    'the part of a line''s stored discount share carried by its first units: a partial refund of units k+1..m gives back line_discount(m) - line_discount(k)';

-- ---------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------

REVOKE ALL ON coupon.shop_coupon, coupon.subscriber, coupon.coupon_target, coupon.sending,
    coupon.sending_recipient, coupon.coupon_hold, coupon.customer_use, coupon.redemption,
    coupon.redemption_line FROM PUBLIC;
REVOKE ALL ON SEQUENCE coupon.sending_id_seq, coupon.redemption_id_seq FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    coupon.guard_coupon(), coupon.guard_redemption(),
    coupon.quote(coupon.code, text, jsonb, text), coupon.hold(coupon.code, text, text, jsonb, integer),
    coupon.redeem(coupon.code, text, text, jsonb), coupon.release(text, coupon.code),
    coupon.expire_holds(),
    coupon.create_coupon(coupon.coupon_kind, numeric, coupon.code, text, coupon.coupon_audience, integer, boolean, date, date, text, numeric, text[], numeric, boolean, char, text, numeric, numeric),
    coupon.change_code(coupon.code, coupon.code), coupon.set_usage_limit(coupon.code, integer),
    coupon.set_coupon_status(coupon.code[], coupon.coupon_status), coupon.add_targets(coupon.code, text[]),
    coupon.send(coupon.code, text[]), coupon.sending_recipients(bigint), coupon.subscribe(text),
    coupon.unsubscribe(text), coupon.line_discount(coupon.code, text, integer, integer)
  FROM PUBLIC;

-- allocation is a pure function, for everyone
GRANT EXECUTE ON FUNCTION coupon.allocate(numeric, numeric[], numeric[], numeric) TO PUBLIC;

-- the storefront: quotes, holds, redemptions, releases, subscriptions
GRANT EXECUTE ON FUNCTION
    coupon.quote(coupon.code, text, jsonb, text), coupon.hold(coupon.code, text, text, jsonb, integer),
    coupon.redeem(coupon.code, text, text, jsonb), coupon.release(text, coupon.code),
    coupon.subscribe(text), coupon.unsubscribe(text), coupon.upsert_customer(text, text, date),
    coupon.line_discount(coupon.code, text, integer, integer)
  TO coupon_shop;

-- administrators: everything, and direct edits of a coupon's rules (the
-- guard refuses what a sent or used coupon must keep)
GRANT EXECUTE ON FUNCTION
    coupon.quote(coupon.code, text, jsonb, text), coupon.hold(coupon.code, text, text, jsonb, integer),
    coupon.redeem(coupon.code, text, text, jsonb), coupon.release(text, coupon.code),
    coupon.expire_holds(),
    coupon.create_coupon(coupon.coupon_kind, numeric, coupon.code, text, coupon.coupon_audience, integer, boolean, date, date, text, numeric, text[], numeric, boolean, char, text, numeric, numeric),
    coupon.change_code(coupon.code, coupon.code), coupon.set_usage_limit(coupon.code, integer),
    coupon.set_coupon_status(coupon.code[], coupon.coupon_status), coupon.add_targets(coupon.code, text[]),
    coupon.send(coupon.code, text[]), coupon.sending_recipients(bigint), coupon.subscribe(text),
    coupon.unsubscribe(text), coupon.line_discount(coupon.code, text, integer, integer)
  TO coupon_admin;
GRANT SELECT ON coupon.shop_coupon, coupon.subscriber, coupon.coupon_target, coupon.sending,
    coupon.sending_recipient, coupon.coupon_hold, coupon.customer_use, coupon.redemption,
    coupon.redemption_line TO coupon_admin;
GRANT INSERT, DELETE ON coupon.shop_coupon, coupon.coupon_target TO coupon_admin;
GRANT UPDATE (code, kind, value, max_discount, free_payment, currency, minor_unit, audience,
              once_per_customer, valid_from, valid_until, time_zone, min_order, categories,
              order_floor, status, description, updated_at)
    ON coupon.shop_coupon TO coupon_admin;
GRANT USAGE ON SEQUENCE coupon.sending_id_seq, coupon.redemption_id_seq TO coupon_admin;
