-- Stripe carries only the payment_intent on charge and refund events: remember it per payment.
ALTER TABLE payments ADD COLUMN payment_intent TEXT;
CREATE INDEX payments_intent ON payments (payment_intent);

-- 減免: the attachment of the application that evidences it (a certificate, a notice).
ALTER TABLE payments ADD COLUMN exemption_evidence TEXT;
