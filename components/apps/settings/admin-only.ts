/** The footer of a settings card for members below admin: the control stays visible, disabled, and says why. */
export const ADMIN_ONLY = "Only team admins and owners can change this.";
