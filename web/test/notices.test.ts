// Which ``notification`` pushes the app shows, and where "join" may go (src/lib/notices.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { consultationOf, noticeFor, sameOriginPath } from "../src/lib/notices";

const ORIGIN = "https://clinic.example";
const ON_LIST = { pathname: "/patient", origin: ORIGIN };
const START = "2026-12-07T06:00:00+00:00";
const push = (rule: string, url = `${ORIGIN}/consult/a1`, appointment_id = "a1") => ({
  rule,
  appointment_id,
  start: START,
  url,
});

test("each appointment rule has its own title and text; joining only when the doctor is ready or the visit is within the hour", () => {
  const expected: [string, string, boolean][] = [
    ["booking_confirmed", "notice.booking_confirmed", false],
    ["booking_changed", "notice.booking_changed", false],
    ["booking_cancelled", "notice.booking_cancelled", false],
    ["reminder_24h", "notice.reminder_24h", false],
    ["reminder_1h", "notice.reminder_1h", true],
    ["doctor_ready", "notice.doctor_ready", true],
  ];
  for (const [rule, title, joins] of expected) {
    const notice = noticeFor(push(rule), ON_LIST);
    assert.ok(notice, rule);
    assert.equal(notice.title, title);
    assert.equal(notice.text, `${title}_text`);
    assert.equal(notice.rule, rule);
    assert.equal(notice.start, START);
    assert.equal(notice.join, joins ? "/consult/a1" : null, rule);
  }
});

test("a rule the app does not know, or a push without an appointment or a readable start, shows nothing", () => {
  assert.equal(noticeFor(push("medication_reminder"), ON_LIST), null);
  assert.equal(noticeFor(push("toString"), ON_LIST), null);
  assert.equal(noticeFor(push("__proto__"), ON_LIST), null);
  assert.equal(noticeFor(push("doctor_ready", `${ORIGIN}/consult/`, ""), ON_LIST), null);
  assert.equal(noticeFor({ ...push("doctor_ready"), start: "soon" }, ON_LIST), null);
  assert.equal(noticeFor(null as unknown as ReturnType<typeof push>, ON_LIST), null);
  assert.equal(noticeFor({ rule: "doctor_ready" } as unknown as ReturnType<typeof push>, ON_LIST), null);
  const noUrl = { ...push("doctor_ready"), url: undefined } as unknown as ReturnType<typeof push>;
  assert.equal(noticeFor(noUrl, ON_LIST)?.join, "/consult/a1");
});

test("not on the consultation page of that same appointment; on any other page, another's included", () => {
  assert.equal(noticeFor(push("doctor_ready"), { pathname: "/consult/a1", origin: ORIGIN }), null);
  assert.equal(noticeFor(push("doctor_ready"), { pathname: "/consult/a1/", origin: ORIGIN }), null);
  assert.equal(noticeFor(push("booking_changed"), { pathname: "/consult/a1", origin: ORIGIN }), null);
  for (const pathname of ["/consult/a2", "/health", "/pharmacy", "/family", "/consult/a1/summary"]) {
    assert.ok(noticeFor(push("doctor_ready"), { pathname, origin: ORIGIN }), pathname);
  }
});

test("only a path of this site is followed: never another origin, scheme or a protocol-relative link", () => {
  assert.equal(sameOriginPath(`${ORIGIN}/consult/a1?x=1#y`, ORIGIN), "/consult/a1?x=1#y");
  assert.equal(sameOriginPath("/consult/a1", ORIGIN), "/consult/a1");
  assert.equal(sameOriginPath("https://evil.example/consult/a1", ORIGIN), null);
  assert.equal(sameOriginPath("//evil.example/consult/a1", ORIGIN), null);
  assert.equal(sameOriginPath("http://clinic.example/consult/a1", ORIGIN), null);
  assert.equal(sameOriginPath("javascript:alert(1)", ORIGIN), null);
  assert.equal(sameOriginPath("https://clinic.example:8443/consult/a1", ORIGIN), null);
});

test("a link elsewhere, or to another page, joins through the app's own consultation page instead", () => {
  assert.equal(noticeFor(push("doctor_ready", "https://evil.example/consult/a1"), ON_LIST)?.join, "/consult/a1");
  assert.equal(noticeFor(push("doctor_ready", "javascript:alert(1)"), ON_LIST)?.join, "/consult/a1");
  assert.equal(noticeFor(push("doctor_ready", `${ORIGIN}/admin`), ON_LIST)?.join, "/consult/a1");
  assert.equal(noticeFor(push("reminder_1h", "/consult/a2"), ON_LIST)?.join, "/consult/a1");
  const odd = noticeFor(push("doctor_ready", "https://evil.example/x", "a/b?c"), ON_LIST);
  assert.equal(odd?.join, "/consult/a%2Fb%3Fc");
});

test("the consultation page's appointment is read from its path", () => {
  assert.equal(consultationOf("/consult/abc"), "abc");
  assert.equal(consultationOf("/consult/a%2Fb"), "a/b");
  assert.equal(consultationOf("/consult/%E0%A4%A"), null);
  assert.equal(consultationOf("/patient"), null);
  assert.equal(consultationOf("/consult/abc/summary"), null);
});
