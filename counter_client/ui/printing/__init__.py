"""Printing from the window: the print dialog (preview, printer, copies, reprint reason) and the
launcher the pages use to print a case's documents or any other document request."""
