-- Stripe carries only the payment_intent on charge and refund events: remember it per payment.
ALTER TABLE payments ADD COLUMN payment_intent TEXT;
CREATE INDEX payments_intent ON payments (payment_intent);
