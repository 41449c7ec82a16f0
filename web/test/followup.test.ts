// What a booking sends under the follow-up rule (src/lib/followup.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { EMPTY_PRIOR, followUpFields, missingDocument } from "../src/lib/followup";

const prior = { condition: " Hypertension ", diagnosedOn: "2025-10-01", institution: "Ruijin ", documentIds: ["d1"] };

test("a video follow-up names its prior diagnosis, trimmed", () => {
  assert.deepEqual(followUpFields("video", "follow_up", prior), {
    visit_type: "follow_up",
    prior_diagnosis: { condition: "Hypertension", diagnosed_on: "2025-10-01", institution: "Ruijin", document_ids: ["d1"] },
  });
});

test("the visit type is always named; no prior diagnosis in person, for a first visit, or when none is given", () => {
  assert.deepEqual(followUpFields("in_person", "follow_up", prior), { visit_type: "follow_up" });
  assert.deepEqual(followUpFields("video", "first", prior), { visit_type: "first" });
  assert.deepEqual(followUpFields("video", "follow_up", EMPTY_PRIOR), { visit_type: "follow_up" });
});

test("under the rule a video follow-up needs a document; elsewhere nothing is missing", () => {
  assert.equal(missingDocument(true, "video", "follow_up", EMPTY_PRIOR), true);
  assert.equal(missingDocument(true, "video", "follow_up", prior), false);
  assert.equal(missingDocument(false, "video", "follow_up", EMPTY_PRIOR), false);
  assert.equal(missingDocument(true, "in_person", "follow_up", EMPTY_PRIOR), false);
  assert.equal(missingDocument(true, "video", "first", EMPTY_PRIOR), false);
});

test("a text consultation is online care: its follow-up names the diagnosis and needs a document", () => {
  assert.deepEqual(followUpFields("text", "follow_up", prior), {
    visit_type: "follow_up",
    prior_diagnosis: { condition: "Hypertension", diagnosed_on: "2025-10-01", institution: "Ruijin", document_ids: ["d1"] },
  });
  assert.deepEqual(followUpFields("text", "first", prior), { visit_type: "first" });
  assert.equal(missingDocument(true, "text", "follow_up", EMPTY_PRIOR), true);
  assert.equal(missingDocument(true, "text", "follow_up", prior), false);
  assert.equal(missingDocument(false, "text", "follow_up", EMPTY_PRIOR), false);
});
