"""Online care only for follow-up visits: the gate, the eligibility decision, consent."""
