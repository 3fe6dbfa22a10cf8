/** Share of the true background that must show the target colour in a background-colour edit. */
export const BACKGROUND_COLOUR_SHARE = 0.7;
/** IoU with the true object mask that an object edit must reach. */
export const OBJECT_IOU = 0.5;
