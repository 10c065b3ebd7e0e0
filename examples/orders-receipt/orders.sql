-- The table the orders-receipt example listens to.
CREATE TABLE IF NOT EXISTS orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  items jsonb NOT NULL,          -- [{"name": "tea", "qty": 2, "price": 4.5}]
  total numeric(10, 2) NOT NULL,
  paid boolean NOT NULL DEFAULT false,
  placed_at timestamptz NOT NULL DEFAULT now()
);
