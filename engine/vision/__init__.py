"""Screenshots: OCR (RapidOCR) and image features."""
