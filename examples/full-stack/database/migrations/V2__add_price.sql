ALTER TABLE widgets ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0;
INSERT INTO widgets (name, price_cents) VALUES ('sprocket', 250);
