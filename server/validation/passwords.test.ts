import { describe, expect, it } from "vitest";
import { passwordProblem } from "./passwords.ts";

describe("passwordProblem", () => {
  it.each([
    ["short", /at least 10/],
    ["x".repeat(201), /at most 200/],
    [" ".repeat(10), /only spaces/],
    ["\t\n \t\n \t\n \t", /only spaces/],
    ["1234567890", /repeated or sequential/],
    ["0987654321", /repeated or sequential/],
    ["4567890123", /repeated or sequential/],
    ["0123456789", /repeated or sequential/],
    ["9876543210", /repeated or sequential/],
    ["abcdefghijk", /repeated or sequential/],
    ["zzzzzzzzzzzz", /repeated or sequential/],
    ["1212121212", /repeated or sequential/],
    ["abcabcabcabc", /repeated or sequential/],
    ["qwertyuiop", /common passwords/],
    ["Password123", /common passwords/],
    ["password1234", /common passwords/],
    ["  password123  ", /common passwords/],
    ["1q2w3e4r5t", /common passwords/],
  ])("refuses %j", (pw, why) => {
    expect(passwordProblem(pw)).toMatch(why);
  });

  it.each(["correct-horse-battery", "tide pool lantern", "q7#Lm2!vR9xw", "root-password-123", "  spaced out phrase  "])(
    "accepts %j",
    (pw) => {
      expect(passwordProblem(pw)).toBeNull();
    },
  );
});
