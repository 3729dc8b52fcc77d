-- ShopSphere's operational PostgreSQL tables, as the ingestion worker expects them.
-- Every table is read by position: (updated_at, primary key), or (snapshot_ts, key) for snapshots;
-- the indexes below let each batch start exactly where the last one ended.

CREATE TABLE IF NOT EXISTS products (
    product_id text PRIMARY KEY,
    sku text,
    name text,
    category text,
    list_price numeric(12, 2),
    currency text,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS products_position ON products (updated_at, product_id);

CREATE TABLE IF NOT EXISTS stores (
    store_id text PRIMARY KEY,
    name text,
    city text,
    postcode text,
    country text,
    kiosk_device_id text,
    opened_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS stores_position ON stores (updated_at, store_id);

CREATE TABLE IF NOT EXISTS users (
    user_id bigint PRIMARY KEY,
    email text,
    phone text,
    first_name text,
    last_name text,
    dob date,
    street text,
    city text,
    postcode text,
    country text,
    loyalty_id text,
    marketing_opt_in boolean,
    created_at timestamptz,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX IF NOT EXISTS users_position ON users (updated_at, user_id);

CREATE TABLE IF NOT EXISTS orders (
    order_id bigint PRIMARY KEY,
    channel text NOT NULL,
    user_id bigint,
    store_id text,
    loyalty_id text,
    phone text,
    email text,
    device_id text,
    status text,
    currency text,
    total_amount numeric(12, 2),
    order_ts timestamptz,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX IF NOT EXISTS orders_position ON orders (updated_at, order_id);

CREATE TABLE IF NOT EXISTS order_items (
    order_id bigint NOT NULL,
    line_no integer NOT NULL,
    product_id text,
    quantity integer,
    unit_price numeric(12, 2),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX IF NOT EXISTS order_items_position ON order_items (updated_at, order_id, line_no);

CREATE TABLE IF NOT EXISTS inventory_snapshots (
    store_id text NOT NULL,
    product_id text NOT NULL,
    snapshot_ts timestamptz NOT NULL,
    on_hand integer,
    reserved integer,
    PRIMARY KEY (store_id, product_id, snapshot_ts)
);
CREATE INDEX IF NOT EXISTS inventory_snapshots_position ON inventory_snapshots (snapshot_ts, store_id, product_id);
