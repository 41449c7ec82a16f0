// The REST API as typed functions. Every call carries the access token; a 401 gets one
// refresh and a retry, and when the sign-in is over the page goes to sign in.
import { ApiError, decode, type Query, send, withQuery } from "./http";
import { accessToken, endReason, goToSignIn, reasonOf, refresh } from "./session";
import type {
  Allergy,
  Appointment,
  GuestInvite,
  GuestKind,
  GuestLink,
  GuestSession,
  AppointmentKind,
  Availability,
  AvailabilityWindow,
  Condition,
  Doctor,
  Drug,
  HealthRecord,
  Note,
  Order,
  OrderStatus,
  PendingReview,
  PatientDocument,
  PatientSummary,
  PrecallReport,
  Prescription,
  QueueInfo,
  Recording,
  RecordingDownloadLink,
  RecordingNotice,
  Reminder,
  RoomSummary,
  Series,
  Slot,
  User,
  Vital,
  VisitSummary,
  VitalType,
} from "./types";

export { ApiError };

/** A request with the access token: a 401 gets one refresh and a retry; a sign-in that is
 * over goes to the sign-in page, saying why when the server said (e.g. ``inactivity``). */
async function authorized(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Response> {
  let token = accessToken();
  if (!token && (await refresh())) token = accessToken();
  if (!token) goToSignIn(endReason() ?? "expired");
  let response = await send(method, path, { body, token, headers });
  if (response.status === 401) {
    if (!(await refresh())) goToSignIn(endReason() ?? (await reasonOf(response)) ?? "expired");
    response = await send(method, path, { body, token: accessToken(), headers });
    if (response.status === 401) goToSignIn((await reasonOf(response)) ?? "expired");
  }
  return response;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return decode<T>(await authorized(method, path, body));
}

const get = <T>(path: string, query?: Query) => call<T>("GET", withQuery(path, query));
const post = <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});
const enc = encodeURIComponent;

/** Every page of a list (bounded: a person's own lists are short). */
async function all<K extends string, T>(
  path: string,
  key: K,
  query: Query = {},
  maxPages = 10,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page += 1) {
    const answer: Record<K, T[]> & { next_cursor: string | null } = await get(path, {
      ...query,
      cursor,
    });
    items.push(...answer[key]);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// ------------------------------------------------------------------ auth

export async function register(email: string, password: string, name: string): Promise<User> {
  // The browser's zone becomes the patient's: their medication times are set in it.
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const response = await send("POST", "/auth/register", { body: { email, password, name, timezone } });
  return (await decode<{ user: User }>(response)).user;
}

/** Text a one-time sign-in code to a mobile number; the code's lifetime in seconds. The same
 * answer whether or not the number has an account. */
export async function requestPhoneCode(phone: string, language: string): Promise<number> {
  const response = await send("POST", "/auth/phone/code", { body: { phone, language } });
  return (await decode<{ expires_in: number }>(response)).expires_in;
}

export interface NotificationPreferences {
  language: "zh-CN" | "en";
  email: boolean;
  sms: boolean;
  /** Medication reminders also by e-mail and text (off until turned on). */
  medication_reminders: boolean;
}

export const notificationPreferences = async () =>
  (await get<{ notifications: NotificationPreferences }>("/me/notifications")).notifications;

export const setNotificationPreferences = async (preferences: NotificationPreferences) =>
  (await call<{ notifications: NotificationPreferences }>("PUT", "/me/notifications", preferences))
    .notifications;

export const me = async () => (await get<{ user: User }>("/me")).user;

/** Add (or change) the account's mobile number with the code texted to it. */
export const setPhone = async (phone: string, code: string) =>
  (await call<{ user: User }>("PUT", "/me/phone", { phone, code })).user;

export const removePhone = async () => (await call<{ user: User }>("DELETE", "/me/phone")).user;

// ------------------------------------------------------------------ doctors, appointments

export const doctors = (query: { specialty?: string; q?: string } = {}) =>
  all<"doctors", Doctor>("/doctors", "doctors", { ...query, limit: 200 }, 5);

export const availability = (doctorId: string) =>
  get<Availability>(`/doctors/${enc(doctorId)}/availability`);

export const setAvailability = (
  doctorId: string,
  input: { timezone: string; slot_minutes: number; weekly: AvailabilityWindow[] },
) => call<Availability>("PUT", `/doctors/${enc(doctorId)}/availability`, input);

export const slots = async (doctorId: string, from: Date, to: Date) =>
  (
    await get<{ slots: Slot[]; timezone: string }>(`/doctors/${enc(doctorId)}/slots`, {
      from: from.toISOString(),
      to: to.toISOString(),
      limit: 400,
    })
  ).slots;

export const appointments = (
  query: { from?: string; to?: string; status?: string; patient_id?: string } = {},
) =>
  all<"appointments", Appointment>("/appointments", "appointments", { ...query, limit: 200 });

export const appointment = async (id: string) =>
  (await get<{ appointment: Appointment }>(`/appointments/${enc(id)}`)).appointment;

export const book = async (input: {
  doctor_id: string;
  start: string;
  kind: AppointmentKind;
  reason: string;
  visit_type?: import("./types").VisitType;
  prior_diagnosis?: import("./types").PriorDiagnosis;
  /** A family member the caller manages; absent: the caller. */
  patient_id?: string;
}) => (await post<{ appointment: Appointment }>("/appointments", input)).appointment;

/** A text consultation on the doctor's text queue: no start, asked now. */
/** ``followUp``: the visit type and prior diagnosis under the follow-up rule (lib/followup.ts). */
export const askByText = async (
  doctorId: string,
  reason: string,
  followUp: { visit_type?: import("./types").VisitType; prior_diagnosis?: import("./types").PriorDiagnosis } = {},
) =>
  (await post<{ appointment: Appointment }>("/appointments", { doctor_id: doctorId, kind: "text", reason, ...followUp }))
    .appointment;

export const textQueue = (doctorId: string) =>
  get<import("./types").TextQueue>(`/doctors/${enc(doctorId)}/text_queue`);

export const textCounts = () => get<import("./types").TextCounts>("/admin/text_consultations");

export const endText = async (id: string) =>
  (await post<{ appointment: Appointment }>(`/appointments/${enc(id)}/text/end`)).appointment;

export const textToVideo = async (id: string) =>
  (await post<{ appointment: Appointment }>(`/appointments/${enc(id)}/text/video`)).appointment;
// ------------------------------------------------------------------ family members (就诊人)

type FamilyMember = import("./types").FamilyMember;
export interface FamilyMemberInput {
  name: string;
  birth_date: string;
  sex: import("./types").Sex;
  relation: import("./types").Relation;
}

export const familyMembers = () =>
  all<"family_members", FamilyMember>("/me/family-members", "family_members", { limit: 50 }, 1);

export const addFamilyMember = async (input: FamilyMemberInput) =>
  (await post<{ family_member: FamilyMember }>("/me/family-members", input)).family_member;

export const inviteFamilyMember = async (id: string, email: string) =>
  (
    await post<{ invitation: { token: string; email: string; expires_at: string; url: string } }>(
      `/me/family-members/${enc(id)}/invitation`,
      { email },
    )
  ).invitation;

/** A managed adult's own sign-in: the password they choose for the invited address. */
/** The doctor invites a guest to a video consultation (the invitation and its one-time link),
 * or the patient asks to (the invitation waits for the doctor; no link yet). */
export const inviteGuest = async (appointmentId: string, name: string, kind: GuestKind) =>
  post<{ invite: GuestInvite; link: GuestLink | null }>(`/appointments/${enc(appointmentId)}/guests`, { name, kind });

export const guestInvites = async (appointmentId: string) =>
  (await get<{ invites: GuestInvite[] }>(`/appointments/${enc(appointmentId)}/guests`)).invites;

/** The doctor approves or declines the patient's request. */
export const decideGuestInvite = async (inviteId: string, approve: boolean) =>
  (await post<{ invite: GuestInvite }>(`/guest-invites/${enc(inviteId)}/decision`, { approve })).invite;

/** A fresh link for an approved invitation (its creator or the doctor). */
export const guestLink = async (inviteId: string) =>
  post<{ invite: GuestInvite; link: GuestLink }>(`/guest-invites/${enc(inviteId)}/link`);

/** A guest's one-time link (``/guest#token=``) for its guest session; works once. */
export async function redeemGuestInvite(token: string): Promise<GuestSession> {
  const response = await send("POST", "/guest-invites/redeem", { body: { token } });
  return decode<GuestSession>(response);
}

export async function acceptInvitation(token: string, password: string): Promise<User> {
  const response = await send("POST", "/auth/invitation/accept", { body: { token, password } });
  return (await decode<{ user: User }>(response)).user;
}

export const updateFamilyMember = async (id: string, input: Partial<FamilyMemberInput>) =>
  (await call<{ family_member: FamilyMember }>("PATCH", `/me/family-members/${enc(id)}`, input)).family_member;

export const cancel = async (id: string, reason?: string) =>
  (await post<{ appointment: Appointment }>(`/appointments/${enc(id)}/cancel`, reason ? { reason } : {}))
    .appointment;

export const noShow = async (id: string) =>
  (await post<{ appointment: Appointment }>(`/appointments/${enc(id)}/no_show`)).appointment;

export const queue = (id: string) => get<QueueInfo>(`/appointments/${enc(id)}/queue`);

// ------------------------------------------------------------------ records

export const record = (patientId: string) => get<HealthRecord>(`/patients/${enc(patientId)}/record`);

export const vitalSeries = async (patientId: string, type: VitalType, from?: Date) =>
  (
    await get<{ vitals: Vital[]; series: Series | null }>(`/patients/${enc(patientId)}/vitals`, {
      type,
      from: from?.toISOString(),
      limit: 1000,
    })
  ).series;

export const addVital = async (
  patientId: string,
  input: { type: VitalType; value: unknown; unit: string; measured_at: string; appointment_id?: string },
) => (await post<{ vital: Vital }>(`/patients/${enc(patientId)}/vitals`, input)).vital;

export const notes = (patientId: string) =>
  all<"notes", Note>(`/patients/${enc(patientId)}/notes`, "notes", {}, 1);

export const addNote = async (patientId: string, appointmentId: string, text: string) =>
  (
    await post<{ note: Note }>(`/patients/${enc(patientId)}/notes`, {
      appointment_id: appointmentId,
      text,
    })
  ).note;

export const prescriptions = (patientId: string) =>
  all<"prescriptions", Prescription>(`/patients/${enc(patientId)}/prescriptions`, "prescriptions", {}, 2);

export const prescribe = (
  patientId: string,
  input: {
    appointment_id: string;
    drug?: string;
    drug_id?: string;
    quantity?: number;
    dose: string;
    times: string[];
    start_date: string;
    days: number;
    timezone?: string;
  },
) =>
  post<{ prescription: Prescription; reminders_created: number }>(
    `/patients/${enc(patientId)}/prescriptions`,
    input,
  );

export const stopPrescription = (id: string) =>
  post<{ prescription: Prescription; reminders_cancelled: number }>(`/prescriptions/${enc(id)}/stop`);

export const reminders = (patientId: string, from: Date, to: Date) =>
  all<"reminders", Reminder>(
    `/patients/${enc(patientId)}/reminders`,
    "reminders",
    { from: from.toISOString(), to: to.toISOString(), limit: 200 },
    3,
  );

export const reminderTaken = async (id: string) =>
  (await post<{ reminder: Reminder }>(`/reminders/${enc(id)}/taken`)).reminder;

export const addAllergy = async (
  patientId: string,
  input: { substance: string; reaction?: string; severity?: string },
) => (await post<{ allergy: Allergy }>(`/patients/${enc(patientId)}/allergies`, input)).allergy;

export const addCondition = async (patientId: string, input: { name: string; code?: string }) =>
  (await post<{ condition: Condition }>(`/patients/${enc(patientId)}/conditions`, input)).condition;

// ------------------------------------------------------------------ consultations, admin

export const transcript = async (appointmentId: string, afterSeq = 0) =>
  (
    await get<{ messages: import("./types").ChatMessage[] }>(
      `/appointments/${enc(appointmentId)}/messages`,
      { after_seq: afterSeq, limit: 500 },
    )
  ).messages;

export const doctorRooms = async (doctorId: string) =>
  (await get<{ rooms: import("./types").RoomView[] }>(`/doctors/${enc(doctorId)}/rooms`)).rooms;

export const adminRooms = async () => (await get<{ rooms: RoomSummary[] }>("/admin/rooms")).rooms;

export const closeRoom = (appointmentId: string) =>
  post<void>(`/admin/rooms/${enc(appointmentId)}/close`);

export const runningLate = (doctorId: string, body: { minutes: number | null; message: string | null }) =>
  post<{ notified: number; sent_at: string }>(`/doctors/${enc(doctorId)}/running-late`, body);

export const activityHistory = () => get<import("./types").ActivityHistory>("/admin/activity");

export const auditChain = () => get<import("./types").AuditChainState>("/admin/audit/chain");

export const verifyAuditChain = () =>
  post<import("./types").AuditChainState>("/admin/audit/chain/verify");

// ------------------------------------------------------------------ pre-call check

export const precallIceServers = () =>
  get<{ ice_servers: import("./types").IceServer[] }>("/precall/ice-servers");

export const precallStart = (sdp: string) =>
  post<{ id: string; type: "answer"; sdp: string; expires_at: string }>("/precall", {
    sdp,
    type: "offer",
  });

export const precallReport = (id: string) => get<PrecallReport>(`/precall/${enc(id)}`);

export const precallStop = (id: string) => call<void>("DELETE", `/precall/${enc(id)}`);

// ------------------------------------------------------------------ consented recording

export const recordingNotice = () => get<RecordingNotice>("/recording-notice");

export const recordings = (appointmentId: string) =>
  all<"recordings", Recording>(`/appointments/${enc(appointmentId)}/recordings`, "recordings", { limit: 50 }, 4);

export const deleteRecording = (id: string) => call<void>("DELETE", `/recordings/${enc(id)}`);

/** A short-lived link to a recording's file that works without the access token, so the
 * browser itself can fetch it and stream it to disk. */
export const recordingDownloadLink = (id: string) =>
  post<RecordingDownloadLink>(`/recordings/${enc(id)}/download-link`);

// ---------------------------------------------------------------- documents

export async function patientDocuments(patientId: string): Promise<PatientDocument[]> {
  const page = await get<{ documents: PatientDocument[] }>(`/patients/${enc(patientId)}/documents`, {
    limit: 50,
  });
  return page.documents;
}

export async function getDocument(id: string): Promise<PatientDocument> {
  return (await get<{ document: PatientDocument }>(`/documents/${enc(id)}`)).document;
}

/** A document's bytes or its PNG preview, as a Blob (the bearer token cannot ride on an <img>
 * src; the page shows it through an object URL). */
export async function documentBlob(id: string, part: "content" | "preview.png", query?: Query): Promise<Blob> {
  const response = await authorized("GET", withQuery(`/documents/${enc(id)}/${part}`, query));
  if (!response.ok) await decode<never>(response);
  return response.blob();
}

/** An appointment as an iCalendar file (``GET /appointments/{id}/calendar.ics``), as a Blob the
 * page hands to the browser's download (the bearer token cannot ride on a link). */
export async function appointmentCalendar(id: string, lang: "zh" | "en"): Promise<Blob> {
  const response = await authorized("GET", withQuery(`/appointments/${enc(id)}/calendar.ics`, { lang }));
  if (!response.ok) await decode<never>(response);
  return response.blob();
}

/** Upload one file of the patient's (multipart: ``file``, ``kind``, ``title``). */
export async function uploadDocument(
  patientId: string,
  file: Blob,
  input: { kind: string; title: string; appointment_id?: string },
): Promise<PatientDocument> {
  const form = new FormData();
  form.append("kind", input.kind);
  form.append("title", input.title);
  if (input.appointment_id) form.append("appointment_id", input.appointment_id);
  form.append("file", file);
  return (await call<{ document: PatientDocument }>("POST", `/patients/${enc(patientId)}/documents`, form))
    .document;
}

// ---------------------------------------------------------------- follow-up gate, referral

/** The consent to online care and whether the clinic holds the follow-up rule (no sign-in). */
export const onlineCareConsent = async () =>
  decode<import("./types").OnlineCareConsent>(await send("GET", "/consents/online-care"));

export const acceptConsent = (version: string, patientId?: string) =>
  post<{ kind: "online_care"; version: string }>(
    "/me/consents",
    patientId ? { kind: "online_care", version, patient_id: patientId } : { kind: "online_care", version },
  );

export const decideEligibility = async (id: string, eligible: boolean, reason?: string) =>
  (
    await post<{ appointment: Appointment }>(
      `/appointments/${enc(id)}/eligibility`,
      reason ? { eligible, reason } : { eligible },
    )
  ).appointment;

export const refer = (
  id: string,
  input: {
    reason: string;
    department?: string;
    urgency: import("./types").Urgency;
    book?: { doctor_id: string; start: string };
  },
) =>
  post<{ referral: import("./types").Referral; appointment: Appointment | null }>(
    `/appointments/${enc(id)}/referral`,
    input,
  );

export const referrals = (patientId: string) =>
  all<"referrals", import("./types").Referral>(`/patients/${enc(patientId)}/referrals`, "referrals", {}, 1);
// ---------------------------------------------------------------- pharmacy, orders

export const drugs = async (query: { q?: string; rx?: boolean; limit?: number } = {}) =>
  (
    await get<{ drugs: Drug[]; next_cursor: string | null }>("/drugs", {
      q: query.q || undefined,
      rx: query.rx === undefined ? undefined : String(query.rx),
      limit: query.limit ?? 20,
    })
  ).drugs;

/** The whole catalogue (or its prescription drugs): a pharmacy's list is short. */
export const allDrugs = (rx?: boolean) =>
  all<"drugs", Drug>("/drugs", "drugs", { rx: rx === undefined ? undefined : String(rx), limit: 100 }, 5);

export const pendingReviews = () =>
  all<"reviews", PendingReview>("/pharmacy/reviews", "reviews", { status: "pending", limit: 100 }, 5);

export const approvePrescription = (id: string) =>
  post<{ prescription: Prescription; reminders_created: number }>(`/prescriptions/${enc(id)}/approve`);

export const rejectPrescription = (id: string, reason: string) =>
  post<{ prescription: Prescription }>(`/prescriptions/${enc(id)}/reject`, { reason });

export const orders = (status?: OrderStatus) =>
  all<"orders", Order>("/orders", "orders", { status, limit: 100 }, 3);

export const order = async (id: string) => (await get<{ order: Order }>(`/orders/${enc(id)}`)).order;

export interface OrderInput {
  items: { drug_id: string; quantity: number; prescription_id?: string }[];
  delivery: { method: "delivery" | "pickup"; address?: import("./types").Address };
  rx_warning_accepted: boolean;
}

/** Creates an order; the same ``key`` (one per checkout attempt) never makes two. */
export async function createOrder(input: OrderInput, key: string): Promise<Order> {
  const response = await authorized("POST", "/orders", input, { "Idempotency-Key": key });
  return (await decode<{ order: Order }>(response)).order;
}

export const payOrder = async (id: string) =>
  (await post<{ payment: { provider: string; status: string; checkout_url: string } }>(`/orders/${enc(id)}/pay`))
    .payment;

export const cancelOrder = async (id: string, reason?: string) =>
  (await post<{ order: Order }>(`/orders/${enc(id)}/cancel`, reason ? { reason } : {})).order;

export const orderReceived = async (id: string) =>
  (await post<{ order: Order }>(`/orders/${enc(id)}/received`)).order;

export const moveOrder = async (
  id: string,
  body: { status: OrderStatus; tracking_number?: string; note?: string },
) => (await post<{ order: Order }>(`/orders/${enc(id)}/status`, body)).order;
// ---------------------------------------------------------------- after-visit summary

export const visitSummary = (appointmentId: string) =>
  get<VisitSummary>(`/appointments/${enc(appointmentId)}/summary`);

export const writeVisitSummary = (
  appointmentId: string,
  body: { diagnosis: string; advice: string; follow_up_date: string | null; follow_up_note: string },
) => call<VisitSummary>("PUT", `/appointments/${enc(appointmentId)}/summary`, body);

export const patientSummaries = async (patientId: string) =>
  (await get<{ summaries: PatientSummary[] }>(`/patients/${enc(patientId)}/summaries`)).summaries;

/** The summary's PDF in one language, as a Blob (the bearer token cannot ride on a link). */
export async function visitSummaryPdf(appointmentId: string, lang: "zh" | "en"): Promise<Blob> {
  const response = await authorized("GET", withQuery(`/appointments/${enc(appointmentId)}/summary.pdf`, { lang }));
  if (!response.ok) await decode<never>(response);
  return response.blob();
}

let clinicInfo: Promise<import("./types").ClinicInfo> | null = null;

/** The clinic's public details (``GET /clinic``, no sign-in), read once per page. */
export function clinic(): Promise<import("./types").ClinicInfo> {
  clinicInfo ??= send("GET", "/clinic").then((response) => decode<import("./types").ClinicInfo>(response));
  clinicInfo.catch(() => {
    clinicInfo = null; // asked again next time
  });
  return clinicInfo;
}
