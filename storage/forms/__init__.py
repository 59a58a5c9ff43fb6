"""Reading and writing the provincial forms (附件1 roster, 附件3 recommendation) as .xlsx and .docx.

- :mod:`storage.forms.tables`       generic sectioned form: FormSpec/FormData and reading a grid back
- :mod:`storage.forms.xlsx_io`, :mod:`storage.forms.docx_io`  writing and reading it as .xlsx and .docx
- :mod:`storage.forms.roster_form`  附件1 for one city from roster members, and back to rows
"""

from storage.forms.docx_io import read_docx, write_docx
from storage.forms.tables import DOCX_MIME, XLSX_MIME, FormData, FormReadError, FormSpec, SectionSpec, read_grid
from storage.forms.xlsx_io import read_xlsx, write_xlsx

__all__ = [
    "DOCX_MIME",
    "XLSX_MIME",
    "FormData",
    "FormReadError",
    "FormSpec",
    "SectionSpec",
    "read_docx",
    "read_grid",
    "read_xlsx",
    "write_docx",
    "write_xlsx",
]
