import type { z } from 'zod';

/** One line naming every invalid field: `messages.0.role: Invalid option: expected one of ...`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
