-- coupon 0.1.0 -> 0.2.0: deal vouchers.
-- Partners, offers and variants; vouchers sold, activated with a secret
-- inside their time window, refunded, blocked, expired; failed attempts
-- counted outside the failing transaction; an append-only audit log;
-- counters; reviews; roles and row-level security.

\echo Use "ALTER EXTENSION coupon UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Roles (cluster-wide; created once, kept when the extension is dropped)
-- ---------------------------------------------------------------------

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['coupon_admin', 'coupon_partner', 'coupon_analyst'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

GRANT USAGE ON SCHEMA coupon TO PUBLIC;

-- ---------------------------------------------------------------------
-- Sequences (dumped with their values: numbers are never reissued)
-- ---------------------------------------------------------------------

CREATE SEQUENCE coupon.partner_id_seq;
CREATE SEQUENCE coupon.offer_id_seq;
CREATE SEQUENCE coupon.variant_id_seq;
CREATE SEQUENCE coupon.customer_id_seq;
CREATE SEQUENCE coupon.review_id_seq;
CREATE SEQUENCE coupon.voucher_number_seq START 1000000;
CREATE SEQUENCE coupon.voucher_event_id_seq;
COMMENT ON SEQUENCE coupon.partner_id_seq IS 'partner ids';
COMMENT ON SEQUENCE coupon.offer_id_seq IS 'offer ids';
COMMENT ON SEQUENCE coupon.variant_id_seq IS 'variant ids';
COMMENT ON SEQUENCE coupon.customer_id_seq IS 'customer ids';
COMMENT ON SEQUENCE coupon.review_id_seq IS 'review ids';
COMMENT ON SEQUENCE coupon.voucher_event_id_seq IS 'ids of voucher log entries (order of events)';
COMMENT ON SEQUENCE coupon.voucher_number_seq IS
    'global voucher numbers (#4115727): unique because they come from this sequence, so that no unique index without the code is needed';

-- ---------------------------------------------------------------------
-- Small tables (reference tables when distributed)
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.is_time_zone(tz text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'is_time_zone' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.is_time_zone(text) IS
    'true when the server knows tz as a time zone (Europe/Moscow); fast, from the server''s cache of loaded zones';

CREATE TABLE coupon.partner (
    partner_id  bigint PRIMARY KEY DEFAULT nextval('coupon.partner_id_seq'),
    name        text NOT NULL CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE coupon.partner IS 'merchants that run offers and activate vouchers at their counters';

CREATE TABLE coupon.partner_member (
    role_name   name PRIMARY KEY,
    partner_id  bigint NOT NULL REFERENCES coupon.partner ON DELETE CASCADE
);
COMMENT ON TABLE coupon.partner_member IS
    'login roles bound to a partner: a role acts for exactly one partner (by name, so that the binding survives dump and restore)';

CREATE TABLE coupon.offer (
    offer_id      bigint PRIMARY KEY DEFAULT nextval('coupon.offer_id_seq'),
    partner_id    bigint NOT NULL REFERENCES coupon.partner,
    title         text NOT NULL CHECK (title <> ''),
    description   text,
    request_no    text,
    state         text NOT NULL DEFAULT 'on_site' CHECK (state IN ('draft', 'on_site', 'closed')),
    sale_from     date NOT NULL,
    sale_until    date NOT NULL,
    valid_from    date NOT NULL,
    valid_until   date NOT NULL,
    grace_days    integer NOT NULL DEFAULT 3 CHECK (grace_days BETWEEN 0 AND 366),
    time_zone     text NOT NULL DEFAULT 'UTC' CHECK (coupon.is_time_zone(time_zone)),
    currency      char(3) NOT NULL DEFAULT 'RUB' CHECK (currency ~ '^[A-Z]{3}$'),
    public_url    text,
    sample_url    text,
    code_pattern  text NOT NULL DEFAULT '######',
    code_check    boolean NOT NULL DEFAULT false,
    last_ordinal  integer NOT NULL DEFAULT 0 CHECK (last_ordinal >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (offer_id, partner_id),
    CHECK (sale_until >= sale_from),
    CHECK (valid_until >= valid_from)
);
COMMENT ON TABLE coupon.offer IS
    'a partner''s deal: description, sale period, request number, state (draft, on_site, closed), public link, time zone; vouchers are valid from valid_from to valid_until (calendar dates in time_zone) and can be activated grace_days longer';

CREATE TABLE coupon.variant (
    variant_id      bigint PRIMARY KEY DEFAULT nextval('coupon.variant_id_seq'),
    offer_id        bigint NOT NULL REFERENCES coupon.offer,
    title           text NOT NULL CHECK (title <> ''),
    coupon_price    numeric(12,2) NOT NULL CHECK (coupon_price >= 0),
    pay_on_site     numeric(12,2) NOT NULL DEFAULT 0 CHECK (pay_on_site >= 0),
    original_price  numeric(12,2) NOT NULL CHECK (original_price > 0),
    discount_percent integer GENERATED ALWAYS AS
        (round(100 * (1 - (coupon_price + pay_on_site) / original_price))::integer) STORED,
    UNIQUE (variant_id, offer_id),
    CHECK (coupon_price + pay_on_site <= original_price)
);
COMMENT ON TABLE coupon.variant IS
    'a position of an offer: coupon price, amount paid on site, original price, and the discount derived from them ("2 swimsuits: 750 + 1990 on site instead of 9000, 70%")';

CREATE TABLE coupon.customer (
    customer_id  bigint PRIMARY KEY DEFAULT nextval('coupon.customer_id_seq'),
    external_id  text NOT NULL UNIQUE CHECK (external_id <> ''),
    gender       text CHECK (gender IN ('female', 'male', 'other')),
    birth_date   date CHECK (birth_date > '1900-01-01'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE coupon.customer IS
    'the minimal profile of a buyer that the application upserts (its own id, gender, birth date), for demographics';

-- ---------------------------------------------------------------------
-- Vouchers (big; distributed by code)
-- ---------------------------------------------------------------------

CREATE TYPE coupon.voucher_state AS ENUM ('sold', 'used', 'returned', 'expired', 'blocked');
COMMENT ON TYPE coupon.voucher_state IS
    'sold (not used yet), used (activated by the partner), returned (refunded to the customer), expired (no longer active), blocked (by an administrator)';

CREATE TABLE coupon.voucher (
    code          coupon.code PRIMARY KEY,
    number        bigint NOT NULL DEFAULT nextval('coupon.voucher_number_seq'),
    offer_id      bigint NOT NULL,
    variant_id    bigint NOT NULL,
    partner_id    bigint NOT NULL,
    ordinal       integer NOT NULL,
    customer_id   bigint REFERENCES coupon.customer,
    secret        text NOT NULL,
    coupon_price  numeric(12,2) NOT NULL,
    pay_on_site   numeric(12,2) NOT NULL,
    valid_from    date NOT NULL,
    valid_until   date NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    state         coupon.voucher_state NOT NULL DEFAULT 'sold',
    sold_at       timestamptz NOT NULL DEFAULT now(),
    used_at       timestamptz,
    used_by       name,
    returned_at   timestamptz,
    expired_at    timestamptz,
    blocked_at    timestamptz,
    window_closed_at timestamptz,
    FOREIGN KEY (variant_id, offer_id) REFERENCES coupon.variant (variant_id, offer_id),
    FOREIGN KEY (offer_id, partner_id) REFERENCES coupon.offer (offer_id, partner_id)
    -- no CHECK constraints: every statement that writes a voucher would
    -- re-read them; the state machine in C is the only writer
) WITH (fillfactor = 85);
CREATE INDEX voucher_number_idx ON coupon.voucher (number);
CREATE INDEX voucher_offer_idx ON coupon.voucher (offer_id, ordinal);
-- vouchers whose window is still open, by its end, for expiry; activation,
-- refund and block change no indexed column, so they update in place (HOT)
CREATE INDEX voucher_due_idx ON coupon.voucher (window_end) WHERE window_closed_at IS NULL;
CREATE INDEX voucher_customer_idx ON coupon.voucher (customer_id);
COMMENT ON TABLE coupon.voucher IS
    'a voucher sold to a customer: global number, ordinal in the offer, 6-character code, 2-character secret, prices, validity (calendar dates in the offer''s time zone) and the activation window derived from it, state and its timestamps';
COMMENT ON COLUMN coupon.voucher.window_end IS
    'activation closes: midnight after valid_until plus the offer''s grace days, in the offer''s time zone';
COMMENT ON COLUMN coupon.voucher.window_closed_at IS
    'when expiry saw the window closed (whatever the state; an unused voucher became expired then)';

CREATE TABLE coupon.voucher_event (
    code        coupon.code NOT NULL,
    event_id    bigint NOT NULL DEFAULT nextval('coupon.voucher_event_id_seq'),
    at          timestamptz NOT NULL DEFAULT now(),
    action      text NOT NULL,
    from_state  coupon.voucher_state,
    to_state    coupon.voucher_state,
    role_name   name NOT NULL,
    partner_id  bigint,
    detail      text,
    PRIMARY KEY (code, event_id)
);
-- appended in time order: a BRIN index is tiny and costs next to nothing per insert
CREATE INDEX voucher_event_at_idx ON coupon.voucher_event USING brin (at);
COMMENT ON TABLE coupon.voucher_event IS
    'append-only audit log of every voucher state change: who (role and partner), when, from and to, which action';

CREATE TABLE coupon.voucher_counter (
    variant_id  bigint NOT NULL REFERENCES coupon.variant,
    slot        smallint NOT NULL,
    issued      bigint NOT NULL DEFAULT 0,
    used        bigint NOT NULL DEFAULT 0,
    returned    bigint NOT NULL DEFAULT 0,
    expired     bigint NOT NULL DEFAULT 0,
    blocked     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (variant_id, slot)
);
COMMENT ON TABLE coupon.voucher_counter IS
    'exact per-variant counts of vouchers issued and in each state, kept in the same transaction as every change; split into 64 slots by the hash of the code so that concurrent activations do not queue on one row';


CREATE TABLE coupon.secret_failure (
    code             coupon.code PRIMARY KEY,
    failures         integer NOT NULL,
    last_failure_at  timestamptz NOT NULL,
    locked_at        timestamptz
);
COMMENT ON TABLE coupon.secret_failure IS
    'wrong secrets per voucher, written by an independent transaction so that the count survives the failing call; locked_at is set when the count reaches coupon.max_secret_failures';

CREATE TABLE coupon.partner_failure (
    partner_id  bigint,
    at          timestamptz NOT NULL DEFAULT now(),
    code        coupon.code,
    reason      text NOT NULL CHECK (reason IN ('not_found', 'wrong_secret', 'locked')),
    role_name   name NOT NULL
);
CREATE INDEX partner_failure_idx ON coupon.partner_failure (partner_id, at);
COMMENT ON TABLE coupon.partner_failure IS
    'failed activations and lookups per partner (unknown code, wrong secret, locked voucher), for throttling; kept for a day';

CREATE TABLE coupon.review (
    review_id      bigint PRIMARY KEY DEFAULT nextval('coupon.review_id_seq'),
    offer_id       bigint NOT NULL,
    partner_id     bigint NOT NULL,
    customer_id    bigint REFERENCES coupon.customer,
    rating         smallint CHECK (rating BETWEEN 1 AND 5),
    body           text NOT NULL CHECK (body <> ''),
    created_at     timestamptz NOT NULL DEFAULT now(),
    status         text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'complained', 'blocked', 'kept')),
    reply          text,
    replied_at     timestamptz,
    replied_by     name,
    complaint      text,
    complained_at  timestamptz,
    complained_by  name,
    resolved_at    timestamptz,
    resolved_by    name,
    FOREIGN KEY (offer_id, partner_id) REFERENCES coupon.offer (offer_id, partner_id)
);
CREATE INDEX review_offer_idx ON coupon.review (offer_id);
COMMENT ON TABLE coupon.review IS
    'customer reviews of an offer; the partner replies (published) or complains with a reason (asks an administrator to block it)';

-- pg_dump keeps the rows of every table and the values of every sequence
SELECT pg_catalog.pg_extension_config_dump('coupon.partner', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.partner_member', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.offer', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.variant', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.customer', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.voucher', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.voucher_event', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.voucher_counter', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.secret_failure', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.partner_failure', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.review', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.partner_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.offer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.variant_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.customer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.review_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.voucher_number_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.voucher_event_id_seq', '');

-- the audit log is append-only
CREATE FUNCTION coupon.refuse_log_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'the voucher log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'CP190',
          HINT = 'Voucher changes are recorded by the coupon functions; nothing in the log is ever changed or removed.';
END $$;
COMMENT ON FUNCTION coupon.refuse_log_change() IS 'trigger: refuses UPDATE, DELETE and TRUNCATE on the voucher log';
CREATE TRIGGER voucher_event_append_only BEFORE UPDATE OR DELETE ON coupon.voucher_event
    FOR EACH ROW EXECUTE FUNCTION coupon.refuse_log_change();
CREATE TRIGGER voucher_event_no_truncate BEFORE TRUNCATE ON coupon.voucher_event
    FOR EACH STATEMENT EXECUTE FUNCTION coupon.refuse_log_change();

-- ---------------------------------------------------------------------
-- Who is calling
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.calling_role() RETURNS name
    AS 'MODULE_PATHNAME', 'calling_role' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION coupon.calling_role() IS
    'the role on whose behalf the coupon functions act: the session''s current role (after SET ROLE), also inside SECURITY DEFINER functions';

CREATE FUNCTION coupon.current_partner() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT partner_id FROM coupon.partner_member WHERE role_name = coupon.calling_role() $$;
COMMENT ON FUNCTION coupon.current_partner() IS
    'the partner the calling role acts for, or NULL';

-- ---------------------------------------------------------------------
-- Administration: partners, offers, variants, customers
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.create_partner(name text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  id bigint;
BEGIN
  IF coalesce(create_partner.name, '') = '' THEN
    RAISE EXCEPTION 'a partner needs a name' USING ERRCODE = '22023';
  END IF;
  INSERT INTO coupon.partner (name) VALUES (create_partner.name) RETURNING partner_id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION coupon.create_partner(text) IS 'creates a partner and returns its id';

CREATE FUNCTION coupon.bind_partner_role(role_name name, partner_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = bind_partner_role.role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', bind_partner_role.role_name USING ERRCODE = '42704';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM coupon.partner p WHERE p.partner_id = bind_partner_role.partner_id) THEN
    RAISE EXCEPTION 'partner % does not exist', bind_partner_role.partner_id USING ERRCODE = 'CP123';
  END IF;
  INSERT INTO coupon.partner_member AS m (role_name, partner_id)
  VALUES (bind_partner_role.role_name, bind_partner_role.partner_id)
  ON CONFLICT ON CONSTRAINT partner_member_pkey DO UPDATE SET partner_id = EXCLUDED.partner_id;
  EXECUTE pg_catalog.format('GRANT coupon_partner TO %I', bind_partner_role.role_name);
END $$;
COMMENT ON FUNCTION coupon.bind_partner_role(name, bigint) IS
    'binds a login role to a partner (and grants it coupon_partner): the role then sees and activates that partner''s vouchers only';

CREATE FUNCTION coupon.unbind_partner_role(role_name name) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM coupon.partner_member m WHERE m.role_name = unbind_partner_role.role_name;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = unbind_partner_role.role_name) THEN
    EXECUTE pg_catalog.format('REVOKE coupon_partner FROM %I', unbind_partner_role.role_name);
  END IF;
  RETURN true;
END $$;
COMMENT ON FUNCTION coupon.unbind_partner_role(name) IS
    'ends a login role''s binding to its partner (and revokes coupon_partner); false when it had none';

CREATE FUNCTION coupon.create_offer(
        partner_id bigint, title text, sale_from date, sale_until date,
        valid_from date, valid_until date,
        time_zone text DEFAULT 'UTC', grace_days integer DEFAULT 3,
        request_no text DEFAULT NULL, description text DEFAULT NULL,
        public_url text DEFAULT NULL, currency char(3) DEFAULT 'RUB',
        code_pattern text DEFAULT '######', code_check boolean DEFAULT false,
        sample_url text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  id bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM coupon.partner p WHERE p.partner_id = create_offer.partner_id) THEN
    RAISE EXCEPTION 'partner % does not exist', create_offer.partner_id USING ERRCODE = 'CP123';
  END IF;
  IF coalesce(create_offer.title, '') = '' THEN
    RAISE EXCEPTION 'an offer needs a title' USING ERRCODE = '22023';
  END IF;
  IF create_offer.sale_until < create_offer.sale_from THEN
    RAISE EXCEPTION 'the sale period ends (%) before it starts (%)',
      to_char(create_offer.sale_until, 'YYYY-MM-DD'), to_char(create_offer.sale_from, 'YYYY-MM-DD')
      USING ERRCODE = '22023';
  END IF;
  IF create_offer.valid_until < create_offer.valid_from THEN
    RAISE EXCEPTION 'the validity ends (%) before it starts (%)',
      to_char(create_offer.valid_until, 'YYYY-MM-DD'), to_char(create_offer.valid_from, 'YYYY-MM-DD')
      USING ERRCODE = '22023';
  END IF;
  IF create_offer.grace_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'grace days must be between 0 and 366, not %', create_offer.grace_days
      USING ERRCODE = '22023';
  END IF;
  IF NOT coupon.is_time_zone(create_offer.time_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', create_offer.time_zone
      USING ERRCODE = '22023', HINT = 'Use a name such as Europe/Moscow (see pg_timezone_names).';
  END IF;
  -- the pattern must make codes: checked once here, used at every sale
  PERFORM coupon.generate_code(create_offer.code_pattern, with_check => create_offer.code_check);
  INSERT INTO coupon.offer AS o (partner_id, title, sale_from, sale_until, valid_from, valid_until,
                                 time_zone, grace_days, request_no, description, public_url,
                                 currency, code_pattern, code_check, sample_url)
  VALUES (create_offer.partner_id, create_offer.title, create_offer.sale_from, create_offer.sale_until,
          create_offer.valid_from, create_offer.valid_until, create_offer.time_zone,
          create_offer.grace_days, create_offer.request_no, create_offer.description,
          create_offer.public_url, create_offer.currency, create_offer.code_pattern,
          create_offer.code_check, create_offer.sample_url)
  RETURNING o.offer_id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION coupon.create_offer(bigint, text, date, date, date, date, text, integer, text, text, text, char, text, boolean, text) IS
    'creates an offer on site; validity dates are calendar dates in time_zone; activation stays open grace_days after valid_until';

CREATE FUNCTION coupon.add_variant(offer_id bigint, title text, coupon_price numeric,
                                   pay_on_site numeric, original_price numeric)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  id bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM coupon.offer o WHERE o.offer_id = add_variant.offer_id) THEN
    RAISE EXCEPTION 'offer % does not exist', add_variant.offer_id USING ERRCODE = 'CP120';
  END IF;
  IF coalesce(add_variant.title, '') = '' THEN
    RAISE EXCEPTION 'a variant needs a title' USING ERRCODE = '22023';
  END IF;
  IF add_variant.coupon_price < 0 OR add_variant.pay_on_site < 0 OR NOT add_variant.original_price > 0 THEN
    RAISE EXCEPTION 'prices must not be negative and the original price must be above 0'
      USING ERRCODE = '22023';
  END IF;
  IF add_variant.coupon_price + add_variant.pay_on_site > add_variant.original_price THEN
    RAISE EXCEPTION 'the variant costs % + % = %, more than its original price %',
      add_variant.coupon_price, add_variant.pay_on_site,
      add_variant.coupon_price + add_variant.pay_on_site, add_variant.original_price
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO coupon.variant AS v (offer_id, title, coupon_price, pay_on_site, original_price)
  VALUES (add_variant.offer_id, add_variant.title, add_variant.coupon_price,
          add_variant.pay_on_site, add_variant.original_price)
  RETURNING v.variant_id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION coupon.add_variant(bigint, text, numeric, numeric, numeric) IS
    'adds a variant (position) to an offer; the discount is derived from the prices';

CREATE FUNCTION coupon.set_offer_state(offer_id bigint, state text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF set_offer_state.state IS NULL OR set_offer_state.state NOT IN ('draft', 'on_site', 'closed') THEN
    RAISE EXCEPTION 'an offer is draft, on_site or closed, not %', coalesce(set_offer_state.state, 'null')
      USING ERRCODE = '22023';
  END IF;
  UPDATE coupon.offer o SET state = set_offer_state.state WHERE o.offer_id = set_offer_state.offer_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'offer % does not exist', set_offer_state.offer_id USING ERRCODE = 'CP120';
  END IF;
END $$;
COMMENT ON FUNCTION coupon.set_offer_state(bigint, text) IS 'puts an offer on site, closes it, or back to draft';

CREATE FUNCTION coupon.upsert_customer(external_id text, gender text DEFAULT NULL, birth_date date DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO coupon.customer AS c (external_id, gender, birth_date)
  VALUES (upsert_customer.external_id, upsert_customer.gender, upsert_customer.birth_date)
  ON CONFLICT (external_id) DO UPDATE
    SET gender = coalesce(EXCLUDED.gender, c.gender),
        birth_date = coalesce(EXCLUDED.birth_date, c.birth_date),
        updated_at = now()
  RETURNING customer_id
$$;
COMMENT ON FUNCTION coupon.upsert_customer(text, text, date) IS
    'creates or updates the profile of a customer by the application''s own id; returns the customer id';

-- ---------------------------------------------------------------------
-- The voucher state machine (C)
-- ---------------------------------------------------------------------

CREATE TYPE coupon.sold_voucher AS (
    number        bigint,
    ordinal       integer,
    code          coupon.code,
    secret        text,
    offer_id      bigint,
    variant_id    bigint,
    coupon_price  numeric(12,2),
    pay_on_site   numeric(12,2),
    valid_from    date,
    valid_until   date,
    window_end    timestamptz
);
COMMENT ON TYPE coupon.sold_voucher IS 'what a sale returns: everything to print on the voucher, secret included';

CREATE TYPE coupon.voucher_status AS (
    number      bigint,
    ordinal     integer,
    code        coupon.code,
    offer_id    bigint,
    variant_id  bigint,
    state       coupon.voucher_state,
    changed_at  timestamptz,
    changed     boolean,
    message     text
);
COMMENT ON TYPE coupon.voucher_status IS
    'the answer to a partner or an administrator: voucher number, state, when it last changed, whether this call changed it, and a sentence for the screen';

CREATE FUNCTION coupon.sell(variant_id bigint, customer text DEFAULT NULL,
                            valid_from date DEFAULT NULL, valid_until date DEFAULT NULL)
    RETURNS coupon.sold_voucher
    AS 'MODULE_PATHNAME', 'voucher_sell' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.sell(bigint, text, date, date) IS
    'sells one voucher of a variant to a customer (application id, created if new): a fresh code and secret, the next number and ordinal; validity defaults to the offer''s';

CREATE FUNCTION coupon.sell_many(variant_id bigint, n integer, customer text DEFAULT NULL)
    RETURNS SETOF coupon.sold_voucher
    AS 'MODULE_PATHNAME', 'voucher_sell_many' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off ROWS 10;
COMMENT ON FUNCTION coupon.sell_many(bigint, integer, text) IS
    'sells n vouchers of a variant at once (one order of several)';

CREATE FUNCTION coupon.activate(code coupon.code, secret text) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_activate' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.activate(coupon.code, text) IS
    'a partner activates a customer''s voucher with the code and the secret printed on it; every refusal has its own SQLSTATE';

CREATE FUNCTION coupon.voucher_status(code coupon.code) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_lookup' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.voucher_status(coupon.code) IS
    'what a partner sees after typing a code, before the secret: the voucher''s number and state; unknown codes are refused and counted';

CREATE FUNCTION coupon.refund(code coupon.code, note text DEFAULT NULL) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_refund' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.refund(coupon.code, text) IS
    'marks a voucher returned (refunded to the customer); a used voucher cannot be refunded; a second refund changes nothing and says when the first was';

CREATE FUNCTION coupon.block(code coupon.code, note text DEFAULT NULL) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_block' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.block(coupon.code, text) IS 'an administrator blocks an unused voucher: do not serve';

CREATE FUNCTION coupon.unblock(code coupon.code, note text DEFAULT NULL) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_unblock' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.unblock(coupon.code, text) IS 'an administrator lifts a block: the voucher is unused again';

CREATE FUNCTION coupon.unlock(code coupon.code, note text DEFAULT NULL) RETURNS coupon.voucher_status
    AS 'MODULE_PATHNAME', 'voucher_unlock' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- point lookups: plans cached while tables are tiny must still use the indexes
    SET enable_seqscan = off;
COMMENT ON FUNCTION coupon.unlock(coupon.code, text) IS
    'an administrator unlocks a voucher locked after too many wrong secrets; its count starts again';

CREATE FUNCTION coupon.expire_batch(batch_size integer DEFAULT 10000, OUT closed bigint, OUT expired bigint)
    AS 'MODULE_PATHNAME', 'voucher_expire_batch' LANGUAGE C VOLATILE STRICT
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.expire_batch(integer) IS
    'closes the windows of at most batch_size vouchers whose activation window has ended (skipping rows locked by others): unused ones become expired; returns how many windows it closed and how many vouchers expired';

CREATE FUNCTION coupon.prune_failures() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH d AS (DELETE FROM coupon.partner_failure WHERE at < now() - interval '1 day' RETURNING 1)
  SELECT count(*) FROM d
$$;
COMMENT ON FUNCTION coupon.prune_failures() IS
    'drops partner failures older than a day (they only count for an hour); returns how many';

CREATE PROCEDURE coupon.expire_due(batch_size integer DEFAULT 10000, INOUT expired bigint DEFAULT NULL)
    AS 'MODULE_PATHNAME', 'voucher_expire_due' LANGUAGE C;
COMMENT ON PROCEDURE coupon.expire_due(integer, bigint) IS
    'expires every voucher whose window has closed, batch by batch, committing after each batch when called with CALL outside a transaction block; also drops partner failures older than a day';

CREATE FUNCTION coupon.schedule_expiry(schedule text DEFAULT '*/5 * * * *') RETURNS bigint
    AS 'MODULE_PATHNAME', 'voucher_schedule_expiry' LANGUAGE C VOLATILE STRICT
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.schedule_expiry(text) IS
    'registers CALL coupon.expire_due() with pg_cron as job coupon-expiry (idempotent); needs pg_cron in this database';

CREATE FUNCTION coupon.unschedule_expiry() RETURNS boolean
    AS 'MODULE_PATHNAME', 'voucher_unschedule_expiry' LANGUAGE C VOLATILE STRICT
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.unschedule_expiry() IS 'removes the pg_cron job coupon-expiry; false when there was none';

CREATE FUNCTION coupon.recount_vouchers() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  LOCK TABLE coupon.voucher_counter IN EXCLUSIVE MODE;
  DELETE FROM coupon.voucher_counter;
  INSERT INTO coupon.voucher_counter (variant_id, slot, issued, used, returned, expired, blocked)
  SELECT variant_id, (coupon.code_hash(code) & 63)::smallint, count(*),
         count(*) FILTER (WHERE state = 'used'), count(*) FILTER (WHERE state = 'returned'),
         count(*) FILTER (WHERE state = 'expired'), count(*) FILTER (WHERE state = 'blocked')
  FROM coupon.voucher GROUP BY 1, 2;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION coupon.recount_vouchers() IS
    'rebuilds the voucher counters from the vouchers (repair after manual changes); returns the number of counter rows';

-- ---------------------------------------------------------------------
-- Reviews
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.add_review(offer_id bigint, customer text, rating integer, body text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO coupon.review AS r (offer_id, partner_id, customer_id, rating, body)
  SELECT o.offer_id, o.partner_id, coupon.upsert_customer(add_review.customer), add_review.rating, add_review.body
  FROM coupon.offer o WHERE o.offer_id = add_review.offer_id
  RETURNING r.review_id INTO id;
  IF id IS NULL THEN
    RAISE EXCEPTION 'offer % does not exist', add_review.offer_id USING ERRCODE = 'CP120';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION coupon.add_review(bigint, text, integer, text) IS 'a customer reviews an offer (1 to 5 stars and a text); published at once';

CREATE FUNCTION coupon.partner_review(review_id bigint) RETURNS coupon.review
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r coupon.review;
BEGIN
  SELECT v.* INTO r FROM coupon.review v
  WHERE v.review_id = partner_review.review_id
    AND v.partner_id = (SELECT m.partner_id FROM coupon.partner_member m
                        WHERE m.role_name = coupon.calling_role())
  FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'review % is not about one of your offers', partner_review.review_id
      USING ERRCODE = 'CP130';
  END IF;
  RETURN r;
END $$;
COMMENT ON FUNCTION coupon.partner_review(bigint) IS
    'internal: locks a review of the calling partner''s offers, or refuses (CP130)';

CREATE FUNCTION coupon.reply_review(review_id bigint, reply text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF coalesce(reply_review.reply, '') = '' THEN
    RAISE EXCEPTION 'a reply needs a text' USING ERRCODE = '22023';
  END IF;
  PERFORM coupon.partner_review(reply_review.review_id);
  UPDATE coupon.review v
  SET reply = reply_review.reply, replied_at = now(), replied_by = coupon.calling_role()
  WHERE v.review_id = reply_review.review_id;
END $$;
COMMENT ON FUNCTION coupon.reply_review(bigint, text) IS
    'the partner replies to a review of its offer; the reply is published with it';

CREATE FUNCTION coupon.complain_review(review_id bigint, reason text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r coupon.review;
BEGIN
  IF coalesce(complain_review.reason, '') = '' THEN
    RAISE EXCEPTION 'a complaint needs a reason' USING ERRCODE = '22023';
  END IF;
  r := coupon.partner_review(complain_review.review_id);
  IF r.status <> 'published' THEN
    RAISE EXCEPTION 'review % cannot be complained about: %', r.review_id,
      CASE r.status WHEN 'complained' THEN 'a complaint is already open'
                    WHEN 'blocked' THEN 'it is blocked'
                    ELSE 'an administrator already decided to keep it' END
      USING ERRCODE = 'CP131';
  END IF;
  UPDATE coupon.review v
  SET status = 'complained', complaint = complain_review.reason, complained_at = now(),
      complained_by = coupon.calling_role()
  WHERE v.review_id = complain_review.review_id;
END $$;
COMMENT ON FUNCTION coupon.complain_review(bigint, text) IS
    'the partner asks an administrator to block a review of its offer, with a reason';

CREATE FUNCTION coupon.resolve_complaint(review_id bigint, block boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE coupon.review v
  SET status = CASE WHEN resolve_complaint.block THEN 'blocked' ELSE 'kept' END,
      resolved_at = now(), resolved_by = coupon.calling_role()
  WHERE v.review_id = resolve_complaint.review_id AND v.status = 'complained';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'review % has no open complaint', resolve_complaint.review_id USING ERRCODE = 'CP131';
  END IF;
END $$;
COMMENT ON FUNCTION coupon.resolve_complaint(bigint, boolean) IS
    'an administrator decides a complaint: block the review, or keep it published for good (status kept: no second complaint)';

-- ---------------------------------------------------------------------
-- What partners and analysts read
-- ---------------------------------------------------------------------

CREATE VIEW coupon.variant_stats WITH (security_barrier) AS
SELECT v.variant_id, v.offer_id, o.partner_id, v.title, v.coupon_price, v.pay_on_site,
       v.original_price, v.discount_percent,
       coalesce(sum(k.issued), 0)::bigint AS sold,
       coalesce(sum(k.used), 0)::bigint AS activated,
       coalesce(sum(k.returned), 0)::bigint AS returned,
       coalesce(sum(k.expired), 0)::bigint AS expired,
       coalesce(sum(k.blocked), 0)::bigint AS blocked,
       coalesce(sum(k.issued - k.used - k.returned - k.expired - k.blocked), 0)::bigint AS not_used
FROM coupon.variant v
JOIN coupon.offer o ON o.offer_id = v.offer_id
LEFT JOIN coupon.voucher_counter k ON k.variant_id = v.variant_id
WHERE o.partner_id = (SELECT coupon.current_partner())
   OR pg_catalog.pg_has_role('coupon_admin', 'USAGE')
   OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE')
GROUP BY v.variant_id, o.partner_id;
COMMENT ON VIEW coupon.variant_stats IS
    'per variant: prices, discount, and vouchers sold, activated, returned, expired, blocked, not used (exact counters); a partner sees its own';

CREATE VIEW coupon.offer_stats WITH (security_barrier) AS
SELECT o.offer_id, o.partner_id, o.title, o.request_no, o.state, o.sale_from, o.sale_until,
       coalesce(sum(s.sold), 0)::bigint AS sold,
       coalesce(sum(s.activated), 0)::bigint AS activated,
       coalesce(sum(s.returned), 0)::bigint AS returned,
       coalesce(sum(s.expired), 0)::bigint AS expired,
       coalesce(sum(s.blocked), 0)::bigint AS blocked,
       coalesce(sum(s.not_used), 0)::bigint AS not_used
FROM coupon.offer o
LEFT JOIN coupon.variant_stats s ON s.offer_id = o.offer_id
WHERE o.partner_id = (SELECT coupon.current_partner())
   OR pg_catalog.pg_has_role('coupon_admin', 'USAGE')
   OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE')
GROUP BY o.offer_id;
COMMENT ON VIEW coupon.offer_stats IS
    'per offer: vouchers sold, activated, returned, expired, blocked, not used (exact counters); a partner sees its own offers';

CREATE FUNCTION coupon.voucher_list(offer_id bigint)
    RETURNS TABLE (number bigint, ordinal integer, variant text, coupon_price numeric,
                   pay_on_site numeric, code coupon.code, state coupon.voucher_state,
                   state_at timestamptz, state_text text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT v.number, v.ordinal, va.title, v.coupon_price, v.pay_on_site, v.code, v.state,
         CASE v.state WHEN 'used' THEN v.used_at WHEN 'returned' THEN v.returned_at
                      WHEN 'expired' THEN v.expired_at WHEN 'blocked' THEN v.blocked_at
                      ELSE v.sold_at END,
         CASE v.state
           WHEN 'sold' THEN 'not used'
           WHEN 'used' THEN 'used ' || to_char(v.used_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || o.time_zone
           WHEN 'returned' THEN 'returned ' || to_char(v.returned_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || o.time_zone
           WHEN 'expired' THEN 'no longer active'
           WHEN 'blocked' THEN 'blocked'
         END
  FROM coupon.voucher v
  JOIN coupon.variant va ON va.variant_id = v.variant_id
  JOIN coupon.offer o ON o.offer_id = v.offer_id
  WHERE v.offer_id = voucher_list.offer_id
  ORDER BY v.ordinal
$$;
COMMENT ON FUNCTION coupon.voucher_list(bigint) IS
    'the voucher list of an offer as the partner sees it (never secrets), for export: COPY (SELECT * FROM coupon.voucher_list(42)) TO STDOUT WITH (FORMAT csv, HEADER)';

-- ---------------------------------------------------------------------
-- Privileges and row-level security
-- ---------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA coupon FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA coupon FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA coupon FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE coupon.expire_due(integer, bigint) FROM PUBLIC;

-- the code type, check symbols and generation are for everyone
GRANT EXECUTE ON FUNCTION
    coupon.code_in(cstring), coupon.code_out(coupon.code), coupon.code_recv(internal),
    coupon.code_send(coupon.code), coupon.code(text), coupon.text(coupon.code),
    coupon.code_eq(coupon.code, coupon.code), coupon.code_ne(coupon.code, coupon.code),
    coupon.code_lt(coupon.code, coupon.code), coupon.code_le(coupon.code, coupon.code),
    coupon.code_gt(coupon.code, coupon.code), coupon.code_ge(coupon.code, coupon.code),
    coupon.code_cmp(coupon.code, coupon.code), coupon.code_sortsupport(internal),
    coupon.code_hash(coupon.code), coupon.code_hash_extended(coupon.code, bigint),
    coupon.format(coupon.code, integer), coupon.check_symbol(text), coupon.check_valid(text),
    coupon.generate_code(text, text, boolean), coupon.generate_codes(bigint, text, text, boolean),
    coupon.generate_secret(integer), coupon.is_time_zone(text), coupon.calling_role(),
    coupon.current_partner()
  TO PUBLIC;

-- administrators: the platform's back office
GRANT SELECT ON ALL TABLES IN SCHEMA coupon TO coupon_admin;
GRANT INSERT, UPDATE, DELETE ON coupon.partner, coupon.partner_member, coupon.offer,
    coupon.variant, coupon.customer TO coupon_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA coupon TO coupon_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA coupon TO coupon_admin;
GRANT EXECUTE ON PROCEDURE coupon.expire_due(integer, bigint) TO coupon_admin;
REVOKE EXECUTE ON FUNCTION coupon.partner_review(bigint), coupon.refuse_log_change() FROM coupon_admin;

-- partners: their own offers, variants, vouchers (never the secret) and reviews
GRANT SELECT ON coupon.partner, coupon.partner_member, coupon.offer, coupon.variant,
    coupon.review, coupon.offer_stats, coupon.variant_stats TO coupon_partner;
GRANT SELECT (code, number, offer_id, variant_id, partner_id, ordinal, coupon_price, pay_on_site,
              valid_from, valid_until, window_start, window_end, state, sold_at, used_at,
              used_by, returned_at, expired_at, blocked_at)
    ON coupon.voucher TO coupon_partner;
GRANT EXECUTE ON FUNCTION coupon.activate(coupon.code, text), coupon.voucher_status(coupon.code),
    coupon.voucher_list(bigint), coupon.reply_review(bigint, text),
    coupon.complain_review(bigint, text) TO coupon_partner;

-- analysts: statistics only
GRANT SELECT ON coupon.offer_stats, coupon.variant_stats TO coupon_analyst;

ALTER TABLE coupon.partner ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon.partner_member ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon.offer ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon.variant ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon.voucher ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon.review ENABLE ROW LEVEL SECURITY;

CREATE POLICY admin_all ON coupon.partner TO coupon_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON coupon.partner_member TO coupon_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON coupon.offer TO coupon_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON coupon.variant TO coupon_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON coupon.voucher TO coupon_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON coupon.review TO coupon_admin USING (true) WITH CHECK (true);

CREATE POLICY own_binding ON coupon.partner_member FOR SELECT TO coupon_partner
    USING (role_name = current_user);
CREATE POLICY own_partner ON coupon.partner FOR SELECT TO coupon_partner
    USING (partner_id = (SELECT coupon.current_partner()));
CREATE POLICY own_offers ON coupon.offer FOR SELECT TO coupon_partner
    USING (partner_id = (SELECT coupon.current_partner()));
CREATE POLICY own_variants ON coupon.variant FOR SELECT TO coupon_partner
    USING (offer_id IN (SELECT o.offer_id FROM coupon.offer o
                        WHERE o.partner_id = (SELECT coupon.current_partner())));
CREATE POLICY own_vouchers ON coupon.voucher FOR SELECT TO coupon_partner
    USING (partner_id = (SELECT coupon.current_partner()));
CREATE POLICY own_reviews ON coupon.review FOR SELECT TO coupon_partner
    USING (partner_id = (SELECT coupon.current_partner()));
