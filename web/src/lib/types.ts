// Shapes of the public contract (docs/PROTOCOL.md) that the browser app uses.

export type Role = "patient" | "doctor" | "admin" | "pharmacist";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  specialty?: string | null;
  timezone?: string;
  phone?: string | null;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
  user: User;
}

export interface Doctor {
  id: string;
  name: string;
  specialty: string | null;
}

export interface AvailabilityWindow {
  weekday: number;
  start: string;
  end: string;
}

export interface Availability {
  doctor_id: string;
  timezone: string;
  slot_minutes: number;
  weekly: AvailabilityWindow[];
}

export interface Slot {
  start: string;
  end: string;
}

export type AppointmentStatus =
  | "booked"
  | "waiting"
  | "in_progress"
  | "completed"
  | "cancelled"
  | "no_show";

/** ``text``: a text-and-image consultation (PROTOCOL.md, "Text consultations"). */
export type AppointmentKind = "video" | "in_person" | "text";

export interface Appointment {
  id: string;
  patient: AppointmentPatient;
  doctor: { id: string; name: string; specialty: string | null };
  start: string;
  end: string;
  kind: AppointmentKind;
  reason: string | null;
  status: AppointmentStatus;
  created_at: string;
  updated_at: string;
  waiting_since: string | null;
  started_at: string | null;
  ended_at: string | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  /** The follow-up gate (PROTOCOL.md, "Online care only for follow-up visits"); absent from
   * a server of the first protocol. */
  visit_type?: VisitType | null;
  prior_diagnosis?: PriorDiagnosis | null;
  eligibility?: Eligibility | null;
  /** Kind text: when the doctor answers by, and whether that has passed unanswered. */
  respond_by?: string | null;
  overdue?: boolean;
  /** When a text consultation became this video consultation. */
  converted_at?: string | null;
}

/** A doctor's text queue (``GET /doctors/{id}/text_queue``). */
export interface TextQueue {
  consultations: Appointment[];
  waiting: number;
  overdue: number;
  in_progress: number;
}

export interface TextCounts {
  waiting: number;
  overdue: number;
  in_progress: number;
}

/** ``text:updated``: what changed in a text consultation. */
export interface TextUpdate {
  appointment_id: string;
  /** ``confirmed``, ``not_eligible``: the doctor's decision under the follow-up rule. */
  change: "asked" | "answered" | "overdue" | "ended" | "video" | "cancelled" | "confirmed" | "not_eligible";
  kind: AppointmentKind;
  status: AppointmentStatus;
  overdue: boolean;
}

export type VisitType = "first" | "follow_up";

export interface PriorDiagnosis {
  condition: string;
  diagnosed_on: string;
  institution: string;
  document_ids: string[];
}

export interface Eligibility {
  status: "pending" | "confirmed" | "declined";
  by: string | null;
  at: string | null;
  reason: string | null;
}

export type Urgency = "routine" | "urgent" | "emergency";

export interface Referral {
  id: string;
  appointment_id: string;
  patient_id: string;
  doctor_id: string;
  reason: string;
  department: string | null;
  urgency: Urgency;
  created_at: string;
  booked_appointment_id: string | null;
}

export interface OnlineCareConsent {
  version: string;
  text: { en: string; "zh-CN": string };
  follow_up_only: boolean;
}

export interface Author {
  id: string;
  role: Role;
}

export interface Note {
  id: string;
  patient_id: string;
  appointment_id: string;
  author: Author;
  text: string;
  created_at: string;
}

export type VitalType =
  | "blood_pressure"
  | "heart_rate"
  | "glucose"
  | "weight"
  | "temperature"
  | "spo2";

export interface Vital {
  id: string;
  patient_id: string;
  type: VitalType;
  value: number | { systolic: number; diastolic: number };
  unit: string;
  measured_at: string;
  recorded_by: Author;
  created_at: string;
  appointment_id: string | null;
}

export interface SeriesPoint {
  measured_at: string;
  vital_id: string;
  value?: number | null;
  systolic?: number | null;
  diastolic?: number | null;
}

export interface Series {
  type: VitalType;
  unit: string;
  fields: ("value" | "systolic" | "diastolic")[];
  points: SeriesPoint[];
}

export interface Allergy {
  id: string;
  substance: string;
  reaction: string | null;
  severity: "mild" | "moderate" | "severe" | null;
  created_at: string;
}

export interface Condition {
  id: string;
  name: string;
  code: string | null;
  status: "active" | "resolved";
  onset_date: string | null;
  created_at: string;
}

export interface Prescription {
  id: string;
  patient_id: string;
  doctor_id: string;
  appointment_id: string;
  drug: string;
  dose: string;
  times: string[];
  timezone: string;
  start_date: string;
  days: number;
  status: "active" | "stopped" | "pending_review" | "rejected";
  created_at: string;
  stopped_at: string | null;
  drug_id?: string | null;
  quantity?: number | null;
  quantity_remaining?: number | null;
  review?: Review | null;
}

// ------------------------------------------------------------------ pharmacy, orders

export interface ReviewWarning {
  code: "allergy" | "duplicate_therapy" | string;
  /** In English; ``subject`` and ``matched`` say it for the page's language (empty in
   * warnings stored before they were kept). */
  message: string;
  subject: string;
  matched: string;
}

export interface Review {
  status: "pending" | "approved" | "rejected";
  pharmacist: { id: string; name: string } | null;
  reviewed_at: string | null;
  reason: string | null;
  warnings: ReviewWarning[];
}

export interface Money {
  amount: number;
  currency: string;
}

export interface Drug {
  id: string;
  name: string;
  names: { en: string; "zh-CN": string };
  form: string;
  strength: string;
  package: string;
  ingredients: string[];
  unit_price: Money;
  rx: boolean;
  online_prescribable: boolean;
  stock: number;
  active: boolean;
}

export interface PendingReview {
  prescription: Prescription;
  patient: { id: string; name: string };
  doctor: { id: string; name: string };
  allergies: Allergy[];
  active_prescriptions: Prescription[];
  warnings: ReviewWarning[];
}

export type OrderStatus =
  | "awaiting_payment"
  | "paid"
  | "dispensing"
  | "shipped"
  | "ready_for_pickup"
  | "delivered"
  | "picked_up"
  | "completed"
  | "cancelled"
  | "expired";

export interface Address {
  name: string;
  phone: string;
  line1: string;
  line2?: string | null;
  city: string;
  postcode: string;
}

export interface Order {
  id: string;
  patient: { id: string; name: string };
  items: { drug_id: string; name: string; quantity: number; unit_price: Money; prescription_id: string | null }[];
  total: Money;
  status: OrderStatus;
  delivery: { method: "delivery" | "pickup"; address?: Address | null };
  payment: { provider: string; status: "pending" | "succeeded" | "refunded"; reference: string | null } | null;
  tracking_number: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  history: { status: OrderStatus; at: string; by_role: string }[];
}

/** The after-visit summary (PROTOCOL.md, "After-visit summary"). */
export interface VisitSummaryText {
  appointment_id: string;
  patient_id: string;
  doctor_id: string;
  diagnosis: string;
  advice: string;
  follow_up_date: string | null; // "YYYY-MM-DD"
  follow_up_note: string;
  created_at: string;
  updated_at: string;
}

export interface VisitSummary {
  appointment_id: string;
  summary: VisitSummaryText | null;
  prescriptions: Prescription[];
  documents: ChatAttachment[];
  /** Its doctor may write the summary now (not before the visit began, nor for a missed one). */
  writable: boolean;
  /** The follow-up dates accepted: from the day after the visit (the patient's calendar day). */
  follow_up_from: string | null;
  follow_up_until: string | null;
}

export interface PatientSummary {
  appointment_id: string;
  visit_start: string;
  doctor: { id: string; name: string };
  summary: VisitSummaryText;
}

export interface Reminder {
  id: string;
  prescription_id: string;
  patient_id: string;
  drug: string;
  dose: string;
  due_at: string;
  local_time: string;
  timezone: string;
  status: "pending" | "taken" | "cancelled";
  taken_at: string | null;
  notified_at: string | null;
}

export interface HealthRecord {
  patient: { id: string; name: string; email: string; timezone: string };
  notes: Note[];
  vitals: Vital[];
  prescriptions: Prescription[];
  allergies: Allergy[];
  conditions: Condition[];
}

// ------------------------------------------------------------------ the hub

export type SeatState = "waiting" | "admitted" | "left";

export interface Participant {
  user_id: string;
  name: string;
  role: Role;
  state: SeatState;
  connected: boolean;
  /** The patient's seat held by the account that manages them (a family member). */
  held_by?: HeldBy | null;
}

// ------------------------------------------------------------------ family members (就诊人)

export type Relation = "child" | "parent" | "spouse" | "other";
export type Sex = "female" | "male" | "other" | "unknown";

export interface FamilyMember {
  id: string;
  name: string;
  birth_date: string | null;
  sex: Sex | null;
  relation: Relation | null;
  age: number | null;
  minor: boolean;
  under_six: boolean;
  invited: boolean;
  created_at: string;
}

export interface HeldBy {
  user_id: string;
  name: string;
  relation: Relation | null;
}

/** An appointment's patient; for a family member (seen by the appointment's parties) also who
 * manages them and what they are to that account. */
export interface AppointmentPatient {
  id: string;
  name: string;
  managed_by?: { id: string; name: string } | null;
  relation?: Relation | null;
  birth_date?: string | null;
}

export interface RoomView {
  appointment_id: string;
  status: AppointmentStatus;
  participants: Participant[];
  waiting_since: string | null;
  started_at: string | null;
  recording?: boolean;
  /** Who shares their screen (``null``: nobody), and whether the doctor lets the patient. */
  screen_share?: ScreenShare;
  rev?: number;
  /** What the waiting patient last wrote to the doctor, kept with the room until admitted. */
  waiting_message?: { text: string; sent_at: string } | null;
  /** Invited guests (absent: none). */
  guests?: GuestView[];
}

export type GuestKind = "interpreter" | "family" | "colleague";

/** A third participant as everyone in the room sees it (PROTOCOL.md, "A third participant"). */
export interface GuestView {
  guest_id: string;
  name: string;
  kind: GuestKind;
  state: "waiting" | "admitted" | "left";
  connected: boolean;
}

/** An invitation of a third participant (PROTOCOL.md, "A third participant: invitations"). */
export interface GuestInvite {
  id: string;
  appointment_id: string;
  guest_name: string;
  kind: GuestKind;
  status: "pending_approval" | "active" | "redeemed" | "declined" | "revoked";
  created_by: { id: string; role: Role };
  created_at: string;
  expires_at: string;
  redeemed_at: string | null;
}

export interface GuestLink {
  url: string;
  token: string;
  expires_at: string;
}

/** ``POST /guest-invites/redeem``: the guest's session for one consultation. */
export interface GuestSession {
  guest_token: string;
  expires_at: string;
  appointment_id: string;
  guest: { id: string; name: string; kind: GuestKind };
}

export interface GuestJoinAck {
  guest: { guest_id: string; name: string; kind: GuestKind };
  state: "waiting" | "admitted";
  room: RoomView;
  ice_servers: IceServer[];
  ice_transport_policy?: IceTransportPolicy;
}

export interface ScreenShare {
  sharer: { user_id: string; role: Role; name: string } | null;
  patient_allowed: boolean;
}

/** ``screen:state`` and the ack of ``screen:share`` / ``screen:allow``. */
export interface ScreenState extends ScreenShare {
  appointment_id: string;
  rev: number;
}

export interface RoomSummary {
  appointment_id: string;
  doctor: { id: string; name: string };
  patient: { id: string; name: string };
  status: AppointmentStatus;
  waiting_since: string | null;
  started_at: string | null;
  participants: { user_id: string; role: Role; connected: boolean }[];
  message_count: number;
  recording?: boolean;
  rev?: number;
}

export interface ActivityHistory {
  interval_seconds: number;
  window_seconds: number;
  samples: { at: string; rooms: number; people: number }[];
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface ChatMessage {
  id: string;
  appointment_id: string;
  seq: number;
  sender: { id: string; role: Role; name: string };
  text: string;
  client_msg_id: string;
  sent_at: string;
  attachment?: ChatAttachment | null;
  /** A transcript line: the doctor admitted or removed a guest (its text is empty). */
  guest?: { action: "admitted" | "removed"; guest_id: string; name: string; kind: GuestKind };
}

/** A patient's document shown in the chat (PROTOCOL.md, "Documents in the chat"). */
export interface ChatAttachment {
  document_id: string;
  kind: string;
  title: string;
  content_type: string;
  size: number;
}

export interface DicomInfo {
  modality: string | null;
  study_date: string | null;
  rows: number | null;
  columns: number | null;
  frames: number;
}

export interface PatientDocument {
  id: string;
  patient_id: string;
  kind: string;
  title: string;
  content_type: string;
  size: number;
  sha256: string;
  appointment_id: string | null;
  created_at: string;
  dicom: DicomInfo | null;
}

export interface AckError {
  code: string;
  message: string;
  details?: unknown;
  retry_after?: number;
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: AckError };

/** ``"relay"``: the call uses TURN relay candidates only (``TELEMED_ICE_TRANSPORT_POLICY``). */
export type IceTransportPolicy = "all" | "relay";

export interface JoinAck {
  role: Role;
  state: "waiting" | "admitted";
  room: RoomView;
  ice_servers: IceServer[];
  ice_transport_policy?: IceTransportPolicy;
}

export interface SignalData {
  type: "offer" | "answer" | "candidate" | "restart" | "bye";
  sdp?: string;
  candidate?: RTCIceCandidateInit | null;
  /** The sender's peer-connection generation (see src/call/pairing.ts). */
  pc?: number;
  /** On a ``restart``: the peer generation it answers. */
  ack?: number;
  /** On offers, answers and candidates: the receiver's peer-connection generation. */
  to?: number;
}

export interface ReminderDue {
  id?: string;
  reminder_id?: string;
  prescription_id: string;
  drug: string;
  dose: string;
  due_at: string;
  local_time: string;
  timezone: string;
}

export interface PrecallReport {
  id: string;
  state: "connecting" | "connected" | "failed" | "closed";
  complete: boolean;
  measured_seconds: number | null;
  rtt_ms: number | null;
  jitter_ms: number | null;
  packet_loss: number | null;
  bitrate_kbps: number | null;
  verdict: "good" | "poor" | "will_not_work" | null;
  advice: string | null;
  problems: string[];
  expires_at: string;
}

export interface QueueInfo {
  appointment_id: string;
  position: number | null;
  waiting: number;
  doctor_busy: boolean;
  waiting_since: string | null;
  estimated_wait_seconds?: number | null;
  wait_from_history?: boolean;
}

// ------------------------------------------------------------------ consented recording

export interface RecordingNotice {
  version: string;
  texts: Record<string, string>;
  digest: string;
}

export interface RecordingState {
  appointment_id: string;
  recording: boolean;
  recording_id: string | null;
  consents: { doctor: boolean; patient: boolean };
  notice_version: string;
  rev: number;
}

export interface RecordingOffer {
  appointment_id: string;
  recording_id: string;
  type: "offer";
  sdp: string;
}

export type RecordingStatus = "recording" | "complete" | "failed" | "deleted";

/** ``POST /recordings/{id}/download-link``: the file's URL with a ticket, until ``expires_at``. */
export interface RecordingDownloadLink {
  url: string;
  expires_at: string;
}

export interface Recording {
  id: string;
  appointment_id: string;
  status: RecordingStatus;
  started_at: string;
  started_by: string | null;
  stopped_at: string | null;
  stop_reason: string | null;
  duration_seconds: number | null;
  size_bytes: number | null;
  content_type: string;
  tracks: { user_id: string; role: Role; kind: "audio" | "video" }[];
  download_url: string | null;
  deleted_at: string | null;
  deleted_by: string | null;
}

// GET /admin/audit/chain: the audit hash chain's head and the last walk's outcome.
export interface AuditChainState {
  length: number;
  head: { seq: number; hash: string; at: string | null; entry_id: string | null } | null;
  status: "ok" | "broken" | "unverified";
  verified_at: string | null;
  verified_seq: number | null;
  problem: { fault: string; seq: number | null; entry_id: string | null; message: string } | null;
}

/** ``GET /clinic``: the address of in-person appointments in each language (null: not set). */
export interface ClinicInfo {
  address_en: string | null;
  address_zh: string | null;
  /** Whether the clinic takes text consultations, answered within how many hours. */
  text_consultations?: boolean;
  text_response_hours?: number;
}
