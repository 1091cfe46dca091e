"""Results back: a signed report's DICOM SR, SEG and PDF sent to configured destinations
through an outbox (one row per version, destination and object), with retries."""
