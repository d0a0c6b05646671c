-- Demo data of API.md's local dev defaults. Idempotent: rows that exist are left alone,
-- so re-running the seed never undoes a change made through the admin API.
-- The channel `web` has publishable key pk_demo_web; only its SHA-256 is stored.

INSERT INTO markets (code, currency, countries, languages, tax_inclusive, tax_rates, rounding_mode, tax_rounding, created_at, updated_at) VALUES
  ('FR', 'EUR', '["FR","MC"]', '["fr","en"]', 1, '{"standard":"20","reduced":"5.5","zero":"0"}', 'half_up', 'line', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('US', 'USD', '["US"]', '["en","es"]', 0, '{"standard":"8.875","reduced":"4","zero":"0"}', 'half_up', 'line', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (code) DO NOTHING;

INSERT INTO channels (id, name, key_hash, key_hint, created_at, updated_at) VALUES
  ('web', 'Web storefront', '4e3408f9858346ed780fa4e1f58c75e8615ac5e43568f636351fb1c3067fc754', '_web', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (id) DO NOTHING;
INSERT INTO channel_markets (channel_id, market_code, position) VALUES ('web', 'FR', 0), ('web', 'US', 1)
ON CONFLICT DO NOTHING;
INSERT INTO channel_origins (channel_id, origin) VALUES ('web', 'http://localhost:8789'), ('web', 'http://127.0.0.1:8789')
ON CONFLICT DO NOTHING;

INSERT INTO products (id, handle, title, description, status, created_at, updated_at) VALUES
  ('prod_linen_apron', 'linen-apron', 'Linen Apron', 'Stonewashed French linen apron with two pockets.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_espresso_cup', 'espresso-cup', 'Espresso Cup', 'Hand-thrown stoneware espresso cup, 90 ml.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_ceramic_mug', 'ceramic-mug', 'Ceramic Mug', 'Everyday mug, 350 ml, dishwasher safe.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_coffee_beans', 'coffee-beans', 'Single-Origin Coffee Beans', 'Washed Ethiopian beans, roasted weekly.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_dark_chocolate', 'dark-chocolate', 'Dark Chocolate 70%', 'Bean-to-bar dark chocolate, 100 g.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_cookbook', 'bistro-cookbook', 'The Bistro Cookbook', '120 recipes from small French kitchens.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_tea_towel', 'tea-towel', 'Tea Towel', 'Striped cotton tea towel, set of two.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_chef_knife', 'chef-knife', 'Chef''s Knife 20 cm', 'Carbon steel chef''s knife, olive wood handle.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_cutting_board', 'cutting-board', 'Oak Cutting Board', 'End-grain oak board, oiled.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_olive_oil', 'olive-oil', 'Extra Virgin Olive Oil', 'Cold-pressed Provençal olive oil, 500 ml.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_french_press', 'french-press', 'French Press', 'Borosilicate glass press, 1 litre.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_gift_card', 'gift-card', 'Gift Card', 'A gift card, delivered by email.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_copper_pan', 'copper-pan', 'Copper Saucepan', 'Tin-lined copper saucepan, 16 cm.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_salt_flakes', 'sea-salt-flakes', 'Sea Salt Flakes', 'Hand-harvested fleur de sel, 125 g.', 'published', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prod_spring_preview', 'spring-preview', 'Spring Preview Set', 'Not yet released.', 'draft', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (id) DO NOTHING;

INSERT INTO variants (sku, product_id, title, tax_class, weight_grams, position) VALUES
  ('APRON-NAT', 'prod_linen_apron', 'Natural', 'standard', 320, 0),
  ('APRON-CHA', 'prod_linen_apron', 'Charcoal', 'standard', 320, 1),
  ('CUP-ESP-WHT', 'prod_espresso_cup', 'White', 'standard', 150, 0),
  ('CUP-ESP-BLU', 'prod_espresso_cup', 'Blue glaze', 'standard', 150, 1),
  ('MUG-350', 'prod_ceramic_mug', '350 ml', 'standard', 380, 0),
  ('COF-250', 'prod_coffee_beans', '250 g', 'reduced', 260, 0),
  ('COF-1000', 'prod_coffee_beans', '1 kg', 'reduced', 1030, 1),
  ('CHOC-70', 'prod_dark_chocolate', '100 g bar', 'reduced', 110, 0),
  ('BOOK-BISTRO', 'prod_cookbook', 'Hardcover', 'reduced', 950, 0),
  ('TOWEL-2', 'prod_tea_towel', 'Set of two', 'standard', 200, 0),
  ('KNIFE-20', 'prod_chef_knife', '20 cm', 'standard', 240, 0),
  ('BOARD-S', 'prod_cutting_board', 'Small', 'standard', 900, 0),
  ('BOARD-L', 'prod_cutting_board', 'Large', 'standard', 1800, 1),
  ('OIL-500', 'prod_olive_oil', '500 ml', 'reduced', 900, 0),
  ('PRESS-1L', 'prod_french_press', '1 litre', 'standard', 700, 0),
  ('GIFT-50', 'prod_gift_card', '50', 'zero', 0, 0),
  ('PAN-CU-16', 'prod_copper_pan', '16 cm', 'standard', 1500, 0),
  ('SALT-125', 'prod_salt_flakes', '125 g', 'reduced', 140, 0),
  ('SPRING-SET', 'prod_spring_preview', 'Set', 'standard', 1200, 0)
ON CONFLICT (sku) DO NOTHING;

INSERT INTO prices (sku, market, currency, amount_minor) VALUES
  ('APRON-NAT', 'FR', 'EUR', 3900),
  ('APRON-NAT', 'US', 'USD', 4200),
  ('APRON-CHA', 'FR', 'EUR', 3900),
  ('APRON-CHA', 'US', 'USD', 4200),
  ('CUP-ESP-WHT', 'FR', 'EUR', 1450),
  ('CUP-ESP-WHT', 'US', 'USD', 1600),
  ('CUP-ESP-BLU', 'FR', 'EUR', 1450),
  ('CUP-ESP-BLU', 'US', 'USD', 1600),
  ('MUG-350', 'FR', 'EUR', 1990),
  ('MUG-350', 'US', 'USD', 2200),
  ('COF-250', 'FR', 'EUR', 1290),
  ('COF-250', 'US', 'USD', 1450),
  ('COF-1000', 'FR', 'EUR', 4290),
  ('COF-1000', 'US', 'USD', 4790),
  ('CHOC-70', 'FR', 'EUR', 590),
  ('CHOC-70', 'US', 'USD', 650),
  ('BOOK-BISTRO', 'FR', 'EUR', 3500),
  ('BOOK-BISTRO', 'US', 'USD', 3900),
  ('TOWEL-2', 'FR', 'EUR', 1800),
  ('TOWEL-2', 'US', 'USD', 1900),
  ('KNIFE-20', 'FR', 'EUR', 8900),
  ('KNIFE-20', 'US', 'USD', 9900),
  ('BOARD-S', 'FR', 'EUR', 4500),
  ('BOARD-S', 'US', 'USD', 4900),
  ('BOARD-L', 'FR', 'EUR', 6900),
  ('BOARD-L', 'US', 'USD', 7500),
  ('OIL-500', 'FR', 'EUR', 1690),
  ('OIL-500', 'US', 'USD', 1890),
  ('PRESS-1L', 'FR', 'EUR', 3490),
  ('PRESS-1L', 'US', 'USD', 3790),
  ('GIFT-50', 'FR', 'EUR', 5000),
  ('GIFT-50', 'US', 'USD', 5000),
  ('PAN-CU-16', 'FR', 'EUR', 18900),
  ('PAN-CU-16', 'US', 'USD', 20900),
  ('SALT-125', 'FR', 'EUR', 790),
  ('SALT-125', 'US', 'USD', 890),
  ('SPRING-SET', 'FR', 'EUR', 9900),
  ('SPRING-SET', 'US', 'USD', 10900)
ON CONFLICT (sku, market) DO NOTHING;

-- The Paris shop: a store serving France, after the warehouse in allocation, where shoppers
-- collect pickup orders.
INSERT INTO locations (id, name, kind, countries, priority, pickup, address, created_at, updated_at) VALUES
  ('paris-store', 'Paris shop', 'store', '["FR"]', 200, 1,
   '{"line1":"12 rue du Bac","city":"Paris","postal_code":"75007","country":"FR"}',
   '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (id) DO NOTHING;

-- Stock per location: everything at the main warehouse, and a little at the Paris shop.
INSERT INTO inventory_levels (sku, location, on_hand, reserved, updated_at) VALUES
  ('APRON-NAT', 'main', 25, 0, '2026-01-01T00:00:00.000Z'),
  ('APRON-CHA', 'main', 12, 0, '2026-01-01T00:00:00.000Z'),
  ('CUP-ESP-WHT', 'main', 40, 0, '2026-01-01T00:00:00.000Z'),
  ('CUP-ESP-BLU', 'main', 3, 0, '2026-01-01T00:00:00.000Z'),
  ('MUG-350', 'main', 60, 0, '2026-01-01T00:00:00.000Z'),
  ('COF-250', 'main', 80, 0, '2026-01-01T00:00:00.000Z'),
  ('COF-1000', 'main', 15, 0, '2026-01-01T00:00:00.000Z'),
  ('CHOC-70', 'main', 100, 0, '2026-01-01T00:00:00.000Z'),
  ('BOOK-BISTRO', 'main', 20, 0, '2026-01-01T00:00:00.000Z'),
  ('TOWEL-2', 'main', 50, 0, '2026-01-01T00:00:00.000Z'),
  ('KNIFE-20', 'main', 8, 0, '2026-01-01T00:00:00.000Z'),
  ('BOARD-S', 'main', 10, 0, '2026-01-01T00:00:00.000Z'),
  ('BOARD-L', 'main', 6, 0, '2026-01-01T00:00:00.000Z'),
  ('OIL-500', 'main', 30, 0, '2026-01-01T00:00:00.000Z'),
  ('PRESS-1L', 'main', 14, 0, '2026-01-01T00:00:00.000Z'),
  ('GIFT-50', 'main', 1000, 0, '2026-01-01T00:00:00.000Z'),
  ('PAN-CU-16', 'main', 0, 0, '2026-01-01T00:00:00.000Z'),
  ('SALT-125', 'main', 45, 0, '2026-01-01T00:00:00.000Z'),
  ('SPRING-SET', 'main', 5, 0, '2026-01-01T00:00:00.000Z'),
  ('CHOC-70', 'paris-store', 12, 0, '2026-01-01T00:00:00.000Z'),
  ('COF-250', 'paris-store', 8, 0, '2026-01-01T00:00:00.000Z')
ON CONFLICT (sku, location) DO NOTHING;

-- Shipping methods: rates per market in minor units of the market's currency. Pick up in
-- Paris is collected at the Paris shop, whose stock alone serves it.
INSERT INTO shipping_methods (id, name, countries, rates, enabled, location_id, created_at, updated_at) VALUES
  ('standard', 'Standard delivery', '[]', '{"FR":{"kind":"free_over","amount":490,"threshold":5000},"US":{"kind":"flat","amount":795}}', 1, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('express', 'Express delivery', '[]', '{"FR":{"kind":"flat","amount":1290},"US":{"kind":"weight_tiers","tiers":[{"up_to_grams":2000,"amount":1495},{"up_to_grams":10000,"amount":2495},{"up_to_grams":30000,"amount":3995}]}}', 1, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('pickup-paris', 'Pick up in Paris', '["FR"]', '{"FR":{"kind":"flat","amount":0}}', 1, 'paris-store', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (id) DO NOTHING;
UPDATE shipping_methods SET location_id = 'paris-store' WHERE id = 'pickup-paris' AND location_id IS NULL;

-- WELCOME10: 10 % off the order, by code, in every market.
INSERT INTO discounts (id, code, title, definition, enabled, usage_limit, usage_limit_per_customer, created_at, updated_at) VALUES
  ('welcome10', 'WELCOME10', 'Welcome offer', '{"id":"welcome10","title":"Welcome offer","code":"WELCOME10","value":{"kind":"percentage","percent":"10"},"target":"order","items":{"skus":[],"product_ids":[]},"min_subtotal":{},"markets":[],"first_order_only":false,"starts_at":null,"ends_at":null,"usage_limit":null,"usage_limit_per_customer":null,"stacking":"combinable","priority":0,"enabled":true}', 1, NULL, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
ON CONFLICT (id) DO NOTHING;
