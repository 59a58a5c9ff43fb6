"""Reading and writing the provincial forms (附件1 roster, 附件3 recommendation) as .xlsx and .docx.

- :mod:`storage.forms.tables`       generic sectioned form: FormSpec/FormData, write_xlsx, write_docx, read_xlsx
- :mod:`storage.forms.roster_form`  附件1 for one city from roster members, and back to rows
"""
from storage.forms.tables import (
    DOCX_MIME,
    XLSX_MIME,
    FormData,
    FormReadError,
    FormSpec,
    SectionSpec,
    read_docx,
    read_grid,
    read_xlsx,
    write_docx,
    write_xlsx,
)

__all__ = ["DOCX_MIME", "XLSX_MIME", "FormData", "FormReadError", "FormSpec", "SectionSpec", "read_docx",
           "read_grid", "read_xlsx", "write_docx", "write_xlsx"]
