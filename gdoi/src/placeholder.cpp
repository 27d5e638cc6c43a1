namespace gdoi {}
