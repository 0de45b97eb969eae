-- coupon 0.3.0 -> 0.4.0: campaigns and bulk operations, import and export,
-- statistics views for analysts.

\echo Use "ALTER EXTENSION coupon UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Campaigns
-- ---------------------------------------------------------------------

CREATE SEQUENCE coupon.campaign_id_seq;
COMMENT ON SEQUENCE coupon.campaign_id_seq IS 'campaign ids';

CREATE TABLE coupon.campaign (
    campaign_id  bigint PRIMARY KEY DEFAULT nextval('coupon.campaign_id_seq'),
    name         text NOT NULL UNIQUE CHECK (name <> ''),
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   name NOT NULL
);
COMMENT ON TABLE coupon.campaign IS
    'a marketing campaign: groups shop coupons (and offers), for bulk operations and statistics';

ALTER TABLE coupon.shop_coupon
    ADD COLUMN campaign_id bigint REFERENCES coupon.campaign,
    ADD COLUMN archived_at timestamptz;
CREATE INDEX shop_coupon_campaign_idx ON coupon.shop_coupon (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN coupon.shop_coupon.campaign_id IS 'the campaign the coupon belongs to, if any';
COMMENT ON COLUMN coupon.shop_coupon.archived_at IS
    'when a bulk delete archived the coupon instead of deleting it (it was sent or used); an archived coupon is blocked';

ALTER TABLE coupon.offer ADD COLUMN campaign_id bigint REFERENCES coupon.campaign;
COMMENT ON COLUMN coupon.offer.campaign_id IS 'the campaign the offer belongs to, if any';

-- exact per-campaign figures, kept by statement triggers in the same
-- transaction as every change, in 64 slots by the hash of the code (slot
-- 64 takes the figures of statements of more than 64 rows: bulk operations)
CREATE TABLE coupon.campaign_counter (
    campaign_id  bigint NOT NULL,
    slot         smallint NOT NULL,
    coupons      bigint NOT NULL DEFAULT 0,
    archived     bigint NOT NULL DEFAULT 0,
    sent         bigint NOT NULL DEFAULT 0,
    used         bigint NOT NULL DEFAULT 0,
    redemptions  bigint NOT NULL DEFAULT 0,
    discount     numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, slot)
);
COMMENT ON TABLE coupon.campaign_counter IS
    'per campaign: coupons (not archived), archived, sent, used, redemptions not released and the discount they gave; kept exact by statement triggers on coupon.shop_coupon and coupon.redemption';

SELECT pg_catalog.pg_extension_config_dump('coupon.campaign', '');
SELECT pg_catalog.pg_extension_config_dump('coupon.campaign_id_seq', '');
-- campaign_counter is not dumped: it is derived, and the triggers below
-- rebuild it while pg_restore loads the coupons and redemptions (in
-- whatever order); after a restore with --disable-triggers, run
-- coupon.recount_campaigns()

-- The triggers (C, campaign_counter.c) read the statement's transition
-- tables and write one upsert per campaign and slot whose figures changed;
-- an update that changes nothing counted (a checkout's uses and holds)
-- writes nothing.
-- SECURITY DEFINER: whoever may change a coupon changes its campaign's
-- figures, without any right on coupon.campaign_counter itself
CREATE FUNCTION coupon.count_coupons() RETURNS trigger
    AS 'MODULE_PATHNAME', 'campaign_count_coupons' LANGUAGE C
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.count_coupons() IS
    'statement trigger on coupon.shop_coupon: keeps coupon.campaign_counter exact (a used coupon that arrives or moves brings its redemptions)';

CREATE TRIGGER shop_coupon_count_insert AFTER INSERT ON coupon.shop_coupon
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coupon.count_coupons();
CREATE TRIGGER shop_coupon_count_update AFTER UPDATE ON coupon.shop_coupon
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coupon.count_coupons();
CREATE TRIGGER shop_coupon_count_delete AFTER DELETE ON coupon.shop_coupon
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION coupon.count_coupons();

CREATE FUNCTION coupon.count_redemptions() RETURNS trigger
    AS 'MODULE_PATHNAME', 'campaign_count_redemptions' LANGUAGE C
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.count_redemptions() IS
    'statement trigger on coupon.redemption: counts a redemption, while it is not released, in its coupon''s campaign';

CREATE TRIGGER redemption_count_insert AFTER INSERT ON coupon.redemption
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coupon.count_redemptions();
CREATE TRIGGER redemption_count_release AFTER UPDATE ON coupon.redemption
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coupon.count_redemptions();

CREATE FUNCTION coupon.recount_campaigns() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  LOCK TABLE coupon.campaign_counter IN EXCLUSIVE MODE;
  DELETE FROM coupon.campaign_counter;
  INSERT INTO coupon.campaign_counter (campaign_id, slot, coupons, archived, sent, used, redemptions, discount)
  SELECT campaign_id, slot, sum(coupons), sum(archived), sum(sent), sum(used), sum(redemptions), sum(discount)
  FROM (
    SELECT s.campaign_id, (coupon.code_hash(s.code) & 63)::smallint AS slot,
           (s.archived_at IS NULL)::int AS coupons, (s.archived_at IS NOT NULL)::int AS archived,
           (s.sent_at IS NOT NULL)::int AS sent, (s.first_used_at IS NOT NULL)::int AS used,
           0::bigint AS redemptions, 0::numeric AS discount
    FROM coupon.shop_coupon s WHERE s.campaign_id IS NOT NULL
    UNION ALL
    SELECT s.campaign_id, (coupon.code_hash(s.code) & 63)::smallint, 0, 0, 0, 0, 1,
           d.discount + d.delivery_discount + d.payment_discount
    FROM coupon.redemption d JOIN coupon.shop_coupon s ON s.code = d.code
    WHERE s.campaign_id IS NOT NULL AND d.released_at IS NULL
  ) x GROUP BY 1, 2;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION coupon.recount_campaigns() IS
    'rebuilds the campaign figures from the coupons and redemptions (repair); returns the number of counter rows';

CREATE FUNCTION coupon.create_campaign(name text, description text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  id bigint;
BEGIN
  IF coalesce(create_campaign.name, '') = '' THEN
    RAISE EXCEPTION 'a campaign needs a name' USING ERRCODE = '22023';
  END IF;
  INSERT INTO coupon.campaign AS c (name, description, created_by)
  VALUES (create_campaign.name, create_campaign.description, coupon.calling_role())
  RETURNING c.campaign_id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'a campaign named "%" already exists', create_campaign.name USING ERRCODE = 'CP301';
END $$;
COMMENT ON FUNCTION coupon.create_campaign(text, text) IS 'creates a campaign and returns its id';

CREATE FUNCTION coupon.set_offer_campaign(offer_id bigint, campaign_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF set_offer_campaign.campaign_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM coupon.campaign c WHERE c.campaign_id = set_offer_campaign.campaign_id) THEN
    RAISE EXCEPTION 'campaign % does not exist', set_offer_campaign.campaign_id USING ERRCODE = 'CP302';
  END IF;
  UPDATE coupon.offer o SET campaign_id = set_offer_campaign.campaign_id
  WHERE o.offer_id = set_offer_campaign.offer_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'offer % does not exist', set_offer_campaign.offer_id USING ERRCODE = 'CP120';
  END IF;
END $$;
COMMENT ON FUNCTION coupon.set_offer_campaign(bigint, bigint) IS
    'puts an offer (its vouchers) into a campaign, or with NULL takes it out';

-- ---------------------------------------------------------------------
-- Every coupon counts its uses and holds (before 0.4.0 only limited ones
-- did), so that a limit set later, one by one or in bulk, is a guarded
-- update of the row.  The counts of coupons without a limit start here.
-- ---------------------------------------------------------------------

UPDATE coupon.shop_coupon s
SET used_count = (SELECT count(*) FROM coupon.redemption d WHERE d.code = s.code AND d.released_at IS NULL),
    held_count = (SELECT count(*) FROM coupon.coupon_hold h WHERE h.code = s.code)
WHERE s.usage_limit IS NULL;

CREATE OR REPLACE FUNCTION coupon.set_usage_limit(code coupon.code, usage_limit integer) RETURNS coupon.shop_coupon
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r coupon.shop_coupon;
BEGIN
  IF set_usage_limit.usage_limit < 0 THEN
    RAISE EXCEPTION 'a usage limit is 0 or more, not %', set_usage_limit.usage_limit USING ERRCODE = '22023';
  END IF;
  -- expired holds give their uses back first; the guard trigger refuses a
  -- limit below the uses and live holds (CP211), counted under the row lock
  PERFORM coupon.expire_holds();
  UPDATE coupon.shop_coupon s SET usage_limit = set_usage_limit.usage_limit, updated_at = now()
  WHERE s.code = set_usage_limit.code
  RETURNING s.* INTO r;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'coupon % does not exist', set_usage_limit.code USING ERRCODE = 'CP214';
  END IF;
  RETURN r;
END $$;

-- an archived coupon stays blocked
CREATE OR REPLACE FUNCTION coupon.set_coupon_status(codes coupon.code[], status coupon.coupon_status) RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH u AS (
    UPDATE coupon.shop_coupon s SET status = set_coupon_status.status, updated_at = now()
    WHERE s.code = ANY (set_coupon_status.codes) AND s.status <> set_coupon_status.status
      AND s.archived_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM u
$$;
COMMENT ON FUNCTION coupon.set_coupon_status(coupon.code[], coupon.coupon_status) IS
    'activates or blocks many coupons at once (archived coupons stay blocked); returns how many changed';

-- ---------------------------------------------------------------------
-- Bulk operations (C)
-- ---------------------------------------------------------------------
--
-- Coupons are chosen by a campaign, a list of codes and/or a filter (all
-- given parts must match); archived coupons only when the filter says
-- "archived": true.  Filter keys: kind, audience, status, used, sent,
-- archived, code_prefix, campaign_id, valid_until_before,
-- valid_until_after, created_before, created_after; {"all": true} chooses
-- every coupon.  Each call works on the chosen rows only (row locks, no
-- table lock) and reports what it did by outcome and reason.

CREATE TYPE coupon.bulk_outcome AS (outcome text, reason text, coupons bigint);
COMMENT ON TYPE coupon.bulk_outcome IS
    'what a bulk operation did: outcome (changed, deleted, archived, skipped, ...), why, and to how many coupons';

CREATE FUNCTION coupon.generate_coupons(campaign_id bigint, n bigint, properties jsonb DEFAULT '{}',
                                        pattern text DEFAULT '##########', with_check boolean DEFAULT true)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'bulk_generate' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.generate_coupons(bigint, bigint, jsonb, text, boolean) IS
    'creates n coupons with fresh codes in a campaign, their rules set once by properties (the columns of coupon.shop_coupon); atomic, progress in pg_stat_activity; returns n';

CREATE FUNCTION coupon.bulk_status(status coupon.coupon_status, campaign_id bigint DEFAULT NULL,
                                   codes coupon.code[] DEFAULT NULL, filter jsonb DEFAULT NULL)
    RETURNS SETOF coupon.bulk_outcome
    AS 'MODULE_PATHNAME', 'bulk_status' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.bulk_status(coupon.coupon_status, bigint, coupon.code[], jsonb) IS
    'activates or blocks the chosen coupons (archived ones stay blocked)';

CREATE FUNCTION coupon.bulk_delete(campaign_id bigint DEFAULT NULL, codes coupon.code[] DEFAULT NULL,
                                   filter jsonb DEFAULT NULL)
    RETURNS SETOF coupon.bulk_outcome
    AS 'MODULE_PATHNAME', 'bulk_delete' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.bulk_delete(bigint, coupon.code[], jsonb) IS
    'deletes the chosen coupons never sent nor used; archives (blocks, keeps) the sent or used ones; skips those held by a checkout';

CREATE FUNCTION coupon.bulk_modify(changes jsonb, campaign_id bigint DEFAULT NULL,
                                   codes coupon.code[] DEFAULT NULL, filter jsonb DEFAULT NULL)
    RETURNS SETOF coupon.bulk_outcome
    AS 'MODULE_PATHNAME', 'bulk_modify' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.bulk_modify(jsonb, bigint, coupon.code[], jsonb) IS
    'changes the rules of the chosen coupons (changes: the columns of coupon.shop_coupon); sent or used coupons only take a usage limit, never below their uses';

CREATE FUNCTION coupon.bulk_attach(target_campaign_id bigint, campaign_id bigint DEFAULT NULL,
                                   codes coupon.code[] DEFAULT NULL, filter jsonb DEFAULT NULL)
    RETURNS SETOF coupon.bulk_outcome
    AS 'MODULE_PATHNAME', 'bulk_attach' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.bulk_attach(bigint, bigint, coupon.code[], jsonb) IS
    'attaches the chosen coupons to the target campaign, or with a NULL target detaches them';

-- ---------------------------------------------------------------------
-- Import (a TXT file, one code per line) and export
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.code_problem(typed text) RETURNS text
    AS 'MODULE_PATHNAME', 'code_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.code_problem(text) IS
    'why typed text is not a coupon code (the detail of the error its input would raise), or NULL when it is one';

CREATE FUNCTION coupon.import_begin(properties jsonb DEFAULT '{}', campaign_id bigint DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF import_begin.properties IS NULL OR jsonb_typeof(import_begin.properties) <> 'object' THEN
    RAISE EXCEPTION 'properties are a JSON object of coupon columns' USING ERRCODE = '22023';
  END IF;
  -- a new import replaces the session's previous one
  IF pg_catalog.to_regclass('pg_temp.coupon_import') IS NOT NULL THEN
    DROP TABLE pg_temp.coupon_import;
  END IF;
  IF pg_catalog.to_regclass('pg_temp.coupon_import_job') IS NOT NULL THEN
    DROP TABLE pg_temp.coupon_import_job;
  END IF;
  IF pg_catalog.to_regclass('pg_temp.coupon_import_problem') IS NOT NULL THEN
    DROP TABLE pg_temp.coupon_import_problem;
  END IF;
  CREATE TEMP TABLE coupon_import (line_no bigint GENERATED ALWAYS AS IDENTITY, raw text);
  CREATE TEMP TABLE coupon_import_job AS
    SELECT import_begin.properties AS properties, import_begin.campaign_id AS campaign_id;
  CREATE TEMP TABLE coupon_import_problem (line_no bigint, raw text, code text, reason text);
  -- CSV with a delimiter and a quote that never occur in text: every line
  -- arrives as it is, tabs and backslashes included
  RETURN 'now load the lines: \copy coupon_import (raw) FROM ''codes.txt'' WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')'
         ' then SELECT coupon.import_finish()';
END $$;
COMMENT ON FUNCTION coupon.import_begin(jsonb, bigint) IS
    'starts an import in this session: a temporary table coupon_import (raw) to COPY the lines of a TXT file into, one code per line, and the properties every imported coupon gets';

CREATE FUNCTION coupon.import_finish(fail_on_error boolean DEFAULT false, dry_run boolean DEFAULT false)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'import_finish' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coupon.import_finish(boolean, boolean) IS
    'imports the loaded lines: blank lines and surrounding spaces ignored; invalid codes, repeats within the file and codes that exist already reported per line in pg_temp.coupon_import_problem (line, code, reason) and counted in the summary returned; with fail_on_error, any problem imports nothing (error CP304); a dry run only checks';

CREATE FUNCTION coupon.campaign_coupons(campaign_id bigint)
    RETURNS TABLE (code coupon.code, kind coupon.coupon_kind, value numeric, currency char(3),
                   audience coupon.coupon_audience, status coupon.coupon_status, usage_limit integer,
                   valid_from date, valid_until date, sent_at timestamptz, first_used_at timestamptz,
                   archived_at timestamptz, redemptions bigint, discount_given numeric)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT s.code, s.kind, s.value, s.currency, s.audience, s.status, s.usage_limit, s.valid_from,
         s.valid_until, s.sent_at, s.first_used_at, s.archived_at,
         count(d.redemption_id) FILTER (WHERE d.released_at IS NULL),
         coalesce(sum(d.discount + d.delivery_discount + d.payment_discount) FILTER (WHERE d.released_at IS NULL), 0)
  FROM coupon.shop_coupon s
  LEFT JOIN coupon.redemption d ON d.code = s.code
  WHERE s.campaign_id = campaign_coupons.campaign_id
  GROUP BY s.code
  ORDER BY s.code
$$;
COMMENT ON FUNCTION coupon.campaign_coupons(bigint) IS
    'a campaign''s coupons with their usage, for export as CSV: COPY (SELECT * FROM coupon.campaign_coupons(7)) TO STDOUT WITH (FORMAT csv, HEADER)';

CREATE FUNCTION coupon.campaign_xml(campaign_id bigint) RETURNS xml
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT xmlelement(name campaign,
           xmlattributes(c.campaign_id AS id, c.name AS name),
           (SELECT xmlagg(xmlelement(name coupon,
                     xmlattributes(x.code::text AS code, x.kind AS kind, x.status AS status),
                     xmlforest(x.value, x.currency, x.audience, x.usage_limit, x.valid_from, x.valid_until,
                               x.sent_at, x.first_used_at, x.archived_at, x.redemptions, x.discount_given))
                   ORDER BY x.code)
            FROM coupon.campaign_coupons(c.campaign_id) x))
  FROM coupon.campaign c WHERE c.campaign_id = campaign_xml.campaign_id
$$;
COMMENT ON FUNCTION coupon.campaign_xml(bigint) IS 'a campaign''s coupons with their usage as XML (SQL/XML)';

-- ---------------------------------------------------------------------
-- Statistics views for analysts (and partners, for their own offers)
-- ---------------------------------------------------------------------

-- one CASE and no SET clause, so that the planner inlines it into the
-- demographics (a call per customer costs five times as much)
CREATE FUNCTION coupon.age_band(birth_date date, on_date date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN birth_date IS NULL OR on_date IS NULL THEN 'unknown'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '18 years') THEN 'under 18'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '25 years') THEN '18-24'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '35 years') THEN '25-34'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '45 years') THEN '35-44'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '55 years') THEN '45-54'
    WHEN birth_date OPERATOR(pg_catalog.>) (on_date OPERATOR(pg_catalog.-) interval '65 years') THEN '55-64'
    ELSE '65 and over'
  END
$$;
COMMENT ON FUNCTION coupon.age_band(date, date) IS 'the age band (18-24, 25-34, ...) of someone born on birth_date, on on_date';

CREATE VIEW coupon.offer_report WITH (security_barrier) AS
SELECT s.offer_id, s.partner_id, p.name AS partner, s.title, s.request_no, s.state, s.sale_from, s.sale_until,
       o.campaign_id, s.sold, s.activated, s.returned, s.expired, s.blocked, s.not_used,
       round(s.activated::numeric / nullif(s.sold, 0), 4) AS activation_rate,
       round(s.returned::numeric / nullif(s.sold, 0), 4) AS return_rate
FROM coupon.offer_stats s
JOIN coupon.offer o ON o.offer_id = s.offer_id
JOIN coupon.partner p ON p.partner_id = s.partner_id;
COMMENT ON VIEW coupon.offer_report IS
    'per offer: vouchers sold, activated, returned, expired, blocked, not used, and the activation and return rates (exact counters, milliseconds)';

CREATE VIEW coupon.variant_report WITH (security_barrier) AS
SELECT s.variant_id, s.offer_id, s.partner_id, s.title, s.coupon_price, s.pay_on_site, s.original_price,
       s.discount_percent, s.sold, s.activated, s.returned, s.expired, s.blocked, s.not_used,
       round(s.activated::numeric / nullif(s.sold, 0), 4) AS activation_rate,
       round(s.returned::numeric / nullif(s.sold, 0), 4) AS return_rate
FROM coupon.variant_stats s;
COMMENT ON VIEW coupon.variant_report IS
    'per variant: prices, discount, vouchers sold, activated, returned, ... and the rates (exact counters)';

CREATE VIEW coupon.campaign_report WITH (security_barrier) AS
SELECT c.campaign_id, c.name, c.created_at,
       coalesce(k.coupons, 0) AS coupons, coalesce(k.archived, 0) AS archived,
       coalesce(k.sent, 0) AS sent, coalesce(k.used, 0) AS used,
       coalesce(k.redemptions, 0) AS redemptions, coalesce(k.discount, 0) AS discount_given,
       coalesce(v.offers, 0) AS offers, coalesce(v.vouchers_sold, 0) AS vouchers_sold,
       coalesce(v.vouchers_activated, 0) AS vouchers_activated
FROM coupon.campaign c
LEFT JOIN (SELECT campaign_id, sum(coupons)::bigint AS coupons, sum(archived)::bigint AS archived,
                  sum(sent)::bigint AS sent, sum(used)::bigint AS used,
                  sum(redemptions)::bigint AS redemptions, sum(discount) AS discount
           FROM coupon.campaign_counter GROUP BY campaign_id) k ON k.campaign_id = c.campaign_id
LEFT JOIN (SELECT o.campaign_id, count(DISTINCT o.offer_id) AS offers,
                  coalesce(sum(vc.issued), 0)::bigint AS vouchers_sold,
                  coalesce(sum(vc.used), 0)::bigint AS vouchers_activated
           FROM coupon.offer o
           LEFT JOIN coupon.variant va ON va.offer_id = o.offer_id
           LEFT JOIN coupon.voucher_counter vc ON vc.variant_id = va.variant_id
           WHERE o.campaign_id IS NOT NULL GROUP BY o.campaign_id) v ON v.campaign_id = c.campaign_id
WHERE pg_catalog.pg_has_role('coupon_admin', 'USAGE') OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE');
COMMENT ON VIEW coupon.campaign_report IS
    'per campaign: coupons, archived, sent, used, redemptions, discount given; offers and their vouchers sold and activated (exact counters, milliseconds)';

CREATE VIEW coupon.voucher_activity_daily WITH (security_barrier) AS
SELECT v.offer_id, d.day,
       count(*) FILTER (WHERE d.event = 'sold') AS sold,
       count(*) FILTER (WHERE d.event = 'activated') AS activated,
       count(*) FILTER (WHERE d.event = 'returned') AS returned,
       count(*) FILTER (WHERE d.event = 'expired') AS expired
FROM coupon.voucher v
JOIN coupon.offer o ON o.offer_id = v.offer_id
CROSS JOIN LATERAL (VALUES ('sold', (v.sold_at AT TIME ZONE o.time_zone)::date),
                           ('activated', (v.used_at AT TIME ZONE o.time_zone)::date),
                           ('returned', (v.returned_at AT TIME ZONE o.time_zone)::date),
                           ('expired', (v.expired_at AT TIME ZONE o.time_zone)::date)) AS d(event, day)
WHERE d.day IS NOT NULL
  AND (o.partner_id = (SELECT coupon.current_partner())
       OR pg_catalog.pg_has_role('coupon_admin', 'USAGE')
       OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE'))
GROUP BY v.offer_id, d.day;
COMMENT ON VIEW coupon.voucher_activity_daily IS
    'per offer and day (in the offer''s time zone): vouchers sold, activated, returned, expired';

CREATE VIEW coupon.coupon_activity_daily WITH (security_barrier) AS
SELECT s.campaign_id, (d.redeemed_at AT TIME ZONE s.time_zone)::date AS day,
       count(*) AS redemptions, count(*) FILTER (WHERE d.released_at IS NOT NULL) AS released,
       coalesce(sum(d.discount + d.delivery_discount + d.payment_discount) FILTER (WHERE d.released_at IS NULL), 0)
         AS discount_given
FROM coupon.redemption d
JOIN coupon.shop_coupon s ON s.code = d.code
WHERE pg_catalog.pg_has_role('coupon_admin', 'USAGE') OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE')
GROUP BY s.campaign_id, (d.redeemed_at AT TIME ZONE s.time_zone)::date;
COMMENT ON VIEW coupon.coupon_activity_daily IS
    'per campaign (NULL: coupons in none) and day (in the coupon''s time zone): redemptions, of which released later, and the discount kept';

CREATE VIEW coupon.activation_delay WITH (security_barrier) AS
SELECT v.offer_id, count(*) AS activated,
       round((avg(extract(epoch FROM v.used_at - v.sold_at)) / 3600)::numeric, 1) AS avg_hours,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM v.used_at - v.sold_at)) / 3600)::numeric, 1)
         AS median_hours,
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM v.used_at - v.sold_at)) / 3600)::numeric, 1)
         AS p90_hours
FROM coupon.voucher v
JOIN coupon.offer o ON o.offer_id = v.offer_id
WHERE v.state = 'used'
  AND (o.partner_id = (SELECT coupon.current_partner())
       OR pg_catalog.pg_has_role('coupon_admin', 'USAGE')
       OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE'))
GROUP BY v.offer_id;
COMMENT ON VIEW coupon.activation_delay IS
    'per offer: vouchers activated and the time from sale to activation (average, median, 90th percentile, hours)';

CREATE VIEW coupon.offer_demographics WITH (security_barrier) AS
-- each customer once per offer, as at the first purchase; groups of fewer
-- than 5 people are merged into one "other" group, shown from 5 people.
-- Written so that a condition on offer_id reaches the vouchers' index.
SELECT offer_id, gender, age_band, sum(customers)::bigint AS customers
FROM (
  SELECT offer_id,
         CASE WHEN count(*) >= 5 THEN gender ELSE 'other' END AS gender,
         CASE WHEN count(*) >= 5 THEN age_band ELSE 'other' END AS age_band,
         count(*) AS customers
  FROM (
    SELECT DISTINCT ON (v.offer_id, v.customer_id) v.offer_id, v.customer_id,
           coalesce(c.gender, 'unknown') AS gender,
           coupon.age_band(c.birth_date, (v.sold_at AT TIME ZONE o.time_zone)::date) AS age_band
    FROM coupon.voucher v
    JOIN coupon.offer o ON o.offer_id = v.offer_id
    JOIN coupon.customer c ON c.customer_id = v.customer_id
    WHERE o.partner_id = (SELECT coupon.current_partner())
       OR pg_catalog.pg_has_role('coupon_admin', 'USAGE')
       OR pg_catalog.pg_has_role('coupon_analyst', 'USAGE')
    ORDER BY v.offer_id, v.customer_id, v.sold_at
  ) buyers
  GROUP BY offer_id, buyers.gender, buyers.age_band
) groups
GROUP BY offer_id, gender, age_band
HAVING sum(customers) >= 5;
COMMENT ON VIEW coupon.offer_demographics IS
    'per offer: customers by gender and age band (at their first purchase); no group of fewer than 5 people is shown: small groups are merged into "other", itself shown only from 5 people';

-- ---------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------

REVOKE ALL ON coupon.campaign, coupon.campaign_counter FROM PUBLIC;
REVOKE ALL ON SEQUENCE coupon.campaign_id_seq FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    coupon.count_coupons(), coupon.count_redemptions(),
    coupon.recount_campaigns(), coupon.create_campaign(text, text), coupon.set_offer_campaign(bigint, bigint),
    coupon.generate_coupons(bigint, bigint, jsonb, text, boolean),
    coupon.bulk_status(coupon.coupon_status, bigint, coupon.code[], jsonb),
    coupon.bulk_delete(bigint, coupon.code[], jsonb), coupon.bulk_modify(jsonb, bigint, coupon.code[], jsonb),
    coupon.bulk_attach(bigint, bigint, coupon.code[], jsonb), coupon.import_begin(jsonb, bigint),
    coupon.import_finish(boolean, boolean), coupon.campaign_coupons(bigint), coupon.campaign_xml(bigint)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION coupon.code_problem(text), coupon.age_band(date, date) TO PUBLIC;

GRANT SELECT ON coupon.campaign, coupon.campaign_counter TO coupon_admin;
GRANT INSERT, UPDATE, DELETE ON coupon.campaign TO coupon_admin;
GRANT UPDATE (campaign_id) ON coupon.shop_coupon TO coupon_admin;
GRANT USAGE ON SEQUENCE coupon.campaign_id_seq TO coupon_admin;
GRANT EXECUTE ON FUNCTION
    coupon.recount_campaigns(), coupon.create_campaign(text, text), coupon.set_offer_campaign(bigint, bigint),
    coupon.generate_coupons(bigint, bigint, jsonb, text, boolean),
    coupon.bulk_status(coupon.coupon_status, bigint, coupon.code[], jsonb),
    coupon.bulk_delete(bigint, coupon.code[], jsonb), coupon.bulk_modify(jsonb, bigint, coupon.code[], jsonb),
    coupon.bulk_attach(bigint, bigint, coupon.code[], jsonb), coupon.import_begin(jsonb, bigint),
    coupon.import_finish(boolean, boolean), coupon.campaign_coupons(bigint), coupon.campaign_xml(bigint)
  TO coupon_admin;

GRANT SELECT ON coupon.offer_report, coupon.variant_report, coupon.campaign_report,
    coupon.voucher_activity_daily, coupon.coupon_activity_daily, coupon.activation_delay,
    coupon.offer_demographics TO coupon_admin, coupon_analyst;
GRANT SELECT ON coupon.offer_report, coupon.variant_report, coupon.voucher_activity_daily,
    coupon.activation_delay, coupon.offer_demographics TO coupon_partner;
