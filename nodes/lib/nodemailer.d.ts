/**
 * The part of nodemailer (7.x, which ships no types) that lib/mailer.ts uses: an SMTP
 * transport and sendMail. Declared here rather than adding @types/nodemailer for two calls.
 */
declare module "nodemailer" {
  export interface SmtpOptions {
    host: string;
    port: number;
    secure: boolean;
    requireTLS?: boolean;
    ignoreTLS?: boolean;
    auth?: { user: string; pass: string };
    tls?: { rejectUnauthorized?: boolean };
    connectionTimeout?: number;
    greetingTimeout?: number;
    socketTimeout?: number;
    disableFileAccess?: boolean;
    disableUrlAccess?: boolean;
  }
  export interface MailOptions {
    from: string;
    to: string[];
    subject: string;
    text: string;
    headers?: Record<string, string>;
  }
  export interface SentInfo {
    messageId: string;
    accepted: Array<string | { address: string }>;
    rejected: Array<string | { address: string }>;
    response: string;
  }
  export interface Transporter {
    sendMail(mail: MailOptions): Promise<SentInfo>;
    close(): void;
  }
  export function createTransport(options: SmtpOptions): Transporter;
}
