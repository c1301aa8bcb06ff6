from . import dicomweb
from .anonymization import anonymize
from .loader import load
from .series import dicom_table
from .write import write_dicom_series, write_nifti

__all__ = ["dicomweb", "load", "dicom_table", "write_dicom_series", "write_nifti", "anonymize"]
